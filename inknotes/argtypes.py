"""Argument types for the command line: numbers that must make sense are refused by argparse
with one line ("--jobs: must be at least 1, not 0") instead of being quietly used."""
from __future__ import annotations

import argparse
from collections.abc import Callable

ENGINES = ("tracer", "inksight")  # inknotes.derender's engine names, without importing the engines


def at_least(minimum: float, kind: type = int) -> Callable[[str], float]:
    """An argparse ``type`` that reads ``kind`` and refuses values below ``minimum``."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse
