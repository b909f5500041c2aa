"""Boards as data (toolchain/boards.json): part, default clock, PS type, DMA, resources, power rails.

The resource totals are the devices' datasheet figures (LUT, FF, BRAM_18K, URAM, DSP); ``power_rails``
says whether PYNQ can read PMBus rails on the board (ZCU104, KV260) for the driver's ``power()``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

from toolchain.errors import QsnnError


@dataclass(frozen=True)
class Board:
    name: str
    part: str
    clock_mhz: float
    ps: str
    dma: str
    shell: str
    resources: dict
    power_rails: bool
    vivado_board_part: str


def boards() -> dict[str, Board]:
    table = json.loads(resources.files("toolchain").joinpath("boards.json").read_text())
    return {name: Board(name=name, **row) for name, row in table.items()}


def get_board(name: str) -> Board:
    table = boards()
    if name not in table:
        raise QsnnError(f"unknown board {name!r}; known boards: {', '.join(table)}")
    return table[name]
