"""On-chip storage choice and BRAM count for a width x depth memory (used by the LIF op and kernel)."""

import math

REGISTER_LIMIT_BITS = 1024
LUTRAM_DEPTH = 64
BRAM_SHAPES = ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512))


def bram18_count(width: int, depth: int) -> int:
    """BRAM_18K blocks for a width x depth memory: the cheapest aspect ratio of FINN's table."""
    return min(math.ceil(width / w) * math.ceil(depth / d) for w, d in BRAM_SHAPES)


def memory_style(width: int, depth: int, style: str = "auto") -> str:
    """registers if width*depth <= 1024 bits, LUTRAM if depth <= 64, else BRAM (unless forced)."""
    if style != "auto":
        return style
    if width * depth <= REGISTER_LIMIT_BITS:
        return "registers"
    if depth <= LUTRAM_DEPTH:
        return "lutram"
    return "bram"
