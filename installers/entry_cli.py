"""Bundle entry point for the ``inknotes`` command (the console script of pyproject.toml).

freeze_support lets ``convert --jobs N`` start its worker processes from the frozen program.
"""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from inknotes.cli import main

    sys.exit(main())
