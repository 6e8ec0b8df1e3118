"""Bundle entry point for the windowed desktop app (Windows .exe without a console, macOS .app)."""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from inknotes.gui.app import main

    sys.exit(main(sys.argv[1:]))
