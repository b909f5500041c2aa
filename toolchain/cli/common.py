"""What several commands share."""

from __future__ import annotations


def add_trust_pickle(p) -> None:
    p.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow reading RadioML 2016's pickle file (reading a pickle runs code it holds: only for a copy "
        "from RadioML's publisher)",
    )
