"""Launch the inknotes desktop app: python main.py [--library PATH]"""
import sys

from inknotes.gui.app import main

if __name__ == "__main__":
    sys.exit(main())
