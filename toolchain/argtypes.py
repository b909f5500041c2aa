"""Parsers of command-line values (argparse ``type=`` callables): each turns text into a value or raises
``argparse.ArgumentTypeError`` saying what the text must be. The config fields name them in their metadata
(toolchain.config), so the CLI, sweeps and searches parse a value the same way.
"""

from __future__ import annotations

import argparse
import math


def int_or(words: dict):
    """An integer, or one of ``words`` (mapped to its value)."""

    def parse(text):
        if text.lower() in words:
            return words[text.lower()]
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer or {' / '.join(map(repr, words))}") from None

    return parse


def checked(kind, ok, what):
    """``kind(text)`` that satisfies ``ok``, else a usage error saying ``what`` it must be."""

    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"{text} is not {what}")
        return v

    return parse


def comma_list(kind):
    """'a,b,c' -> (kind(a), kind(b), kind(c))."""

    def parse(text):
        try:
            return tuple(kind(v) for v in text.split(",") if v.strip())
        except (ValueError, argparse.ArgumentTypeError):
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list") from None

    return parse


def layouts(text):
    """'128/64,64' -> ((128,), (64, 64)): hidden layouts to search."""
    out = tuple(comma_list(int)(part) for part in text.split("/") if part.strip())
    if not out or not all(out):
        raise argparse.ArgumentTypeError(f"{text!r} is not '/'-separated hidden layouts like 128/64,64")
    return out


positive_int = checked(int, lambda v: v >= 1, "a positive integer")
finite_nonneg = checked(float, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
positive_float = checked(float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0")
weight_bits = int_or({"float": None, "fp32": None})
auto_int = int_or({"auto": "auto"})
int_list = comma_list(int)
