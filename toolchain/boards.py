"""Boards as data: FINN's board maps plus what this project adds, one source of truth.

A board's part and AXI port width come from FINN (``finn.util.basic.pynq_part_map`` and
``pynq_native_port_width``), so a board FINN's ``ZynqBuild`` knows is a board this flow knows, under
FINN's own name (``KV260_SOM``, ``AUP-ZU3_8GB``). ``toolchain/boards.json`` adds only what FINN does
not hold: datasheet resource totals per part, the default clock, whether PYNQ can read PMBus power
rails, the ``BOARD`` values PYNQ images set (the driver's board check) and short names users type
(``KV260``, ``AUP-ZU3``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from toolchain.errors import QsnnError


@dataclass(frozen=True)
class Board:
    name: str  # FINN's name, what ZynqBuild(platform=...) takes
    part: str
    axi_port_width: int
    clock_mhz: float
    resources: dict
    power_rails: bool
    pynq_ids: tuple[str, ...]


@cache
def _table() -> dict:
    return json.loads(resources.files("toolchain").joinpath("boards.json").read_text())


def _finn_maps() -> tuple[dict, dict]:
    from finn.util.basic import pynq_native_port_width, pynq_part_map

    return pynq_part_map, pynq_native_port_width


def board_names() -> list[str]:
    """Every board FINN's Zynq flow builds for (FINN's names)."""
    return list(_finn_maps()[0])


def canonical_name(name: str) -> str:
    """FINN's name for ``name`` (case-insensitive; aliases such as KV260 -> KV260_SOM)."""
    parts, _ = _finn_maps()
    by_lower = {n.lower(): n for n in parts}
    for finn_name, row in _table()["boards"].items():
        for alias in row["aliases"]:
            by_lower.setdefault(alias.lower(), finn_name)
    if name.lower() not in by_lower:
        raise QsnnError(f"unknown board {name!r}; known boards: {', '.join(parts)} (FINN's names)")
    return by_lower[name.lower()]


def get_board(name: str) -> Board:
    finn_name = canonical_name(name)
    parts, widths = _finn_maps()
    part = parts[finn_name]
    extra = _table()["boards"].get(finn_name)
    res = _table()["parts"].get(part)
    if extra is None or res is None:
        raise QsnnError(
            f"board {finn_name!r} ({part}) is in FINN's map but toolchain/boards.json has no "
            "resource totals or clock for it; add them there"
        )
    return Board(
        name=finn_name,
        part=part,
        axi_port_width=widths[finn_name],
        clock_mhz=extra["clock_mhz"],
        resources=res,
        power_rails=extra["power_rails"],
        pynq_ids=tuple(extra["pynq_ids"]),
    )
