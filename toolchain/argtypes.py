"""Parsers of command-line values (argparse ``type=`` callables): each turns text into a value or raises
``argparse.ArgumentTypeError`` saying what the text must be. The config fields name them in their metadata
(toolchain.config), so the CLI, sweeps and searches parse a value the same way.
"""

from __future__ import annotations

import argparse
import math
import re


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


# The layer grammar of --layers. Written here, not found in a library: no SNN framework's CLI has one to reuse.
LAYER_GRAMMAR = (
    "cNkK[sS][pP]: a conv of N channels, kernel K (1 x K on (L, C) sequences), stride S (1), zero-padding P (0); "
    "mpK: a max-pool of the spikes, window = stride K; spK: a sum-pool (the next layer's synapse sums each K x K "
    "window); fN: a dense layer of N neurons; rN: a recurrent dense layer (each neuron also sees the layer's spikes "
    "of the step before); the classifier is added"
)
_LAYER = re.compile(r"c(\d+)k(\d+)(?:s(\d+))?(?:p(\d+))?|mp(\d+)|sp(\d+)|f(\d+)|r(\d+)")


def layer(token: str) -> tuple:
    """One --layers token -> ("conv", N, K, S, P) | ("maxpool", K) | ("sumpool", K) | ("dense", N) | ("dense", N,
    "recurrent"); ArgumentTypeError if malformed."""
    m = _LAYER.fullmatch(token.strip().lower())
    if m is None:
        raise argparse.ArgumentTypeError(f"layer {token!r} is not one of {LAYER_GRAMMAR}")
    ch, k, s, p, pool, sum_pool, dense, recurrent = m.groups()
    if dense is not None:
        return ("dense", int(dense))
    if recurrent is not None:
        return ("dense", int(recurrent), "recurrent")
    if pool is not None:
        return ("maxpool", int(pool))
    if sum_pool is not None:
        return ("sumpool", int(sum_pool))
    return ("conv", int(ch), int(k), int(s or 1), int(p or 0))


def layer_token(spec: tuple) -> str:
    """The canonical text of a parsed layer (stride 1 and padding 0 left out)."""
    if spec[0] == "dense":
        return f"{'r' if spec[2:] else 'f'}{spec[1]}"
    if spec[0] in ("maxpool", "sumpool"):
        return f"{spec[0][0]}p{spec[1]}"
    _, ch, k, s, p = spec
    return f"c{ch}k{k}" + (f"s{s}" if s != 1 else "") + (f"p{p}" if p else "")


def layers(text: str) -> tuple[str, ...]:
    """'c16k5p2,mp2,f128' -> ('c16k5p2', 'mp2', 'f128'): the tokens, each checked and in canonical form."""
    tokens = tuple(layer_token(layer(t)) for t in text.split(",") if t.strip())
    if not tokens:
        raise argparse.ArgumentTypeError(f"{text!r} names no layers; e.g. c16k5p2,mp2,c32k3,mp2,f128")
    return tokens


DEVICE = re.compile(r"^(auto|cpu|cuda(?::\d+)?)$")


def device(text: str) -> str:
    """A torch device option: auto, cpu, cuda or cuda:N (toolchain.device resolves it)."""
    spec = str(text).strip().lower()
    if not DEVICE.match(spec):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device; use auto, cpu, cuda or cuda:N")
    return spec
