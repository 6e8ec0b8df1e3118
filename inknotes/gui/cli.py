"""`inknotes gui [--library PATH]`: the CLI subcommand that opens the desktop app."""
from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("gui", help="open the desktop app",
                              description="Open the inknotes desktop app.")
    p.add_argument("--library", metavar="PATH", help="library file to open (created if missing)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .app import main  # Qt is imported only when the app really starts

    argv = ["--library", str(args.library)] if args.library else []
    if getattr(args, "verbose", False):
        argv.append("--verbose")
    return main(argv)
