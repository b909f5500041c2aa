"""Reward-based model selection (tinySNN Eq. 3) and Pareto fronts.

R = acc - mu * M_q / M_0      (acc: top-1 as a fraction, M_q / M_0: memory ratio to the float net)
"""

from __future__ import annotations

from toolchain.errors import QsnnError


def usable(results) -> list[dict]:
    return [r for r in results if "metrics" in r]


def reward(result: dict, mu: float) -> float:
    m = result["metrics"]
    return m["top1"] - mu * m["memory_ratio"]


def pareto_front(points, x, y) -> list:
    """Points not dominated in (minimise x, maximise y); sorted by x. Ties keep the first seen."""
    ordered = sorted(points, key=lambda p: (x(p), -y(p)))
    front, best = [], float("-inf")
    for p in ordered:
        if y(p) > best:
            front.append(p)
            best = y(p)
    return front


def constrained(results, max_lut=None, max_bram=None) -> list[dict]:
    out = []
    for r in usable(results):
        hw = r.get("hardware")
        if (max_lut is not None or max_bram is not None) and hw is None:
            continue  # no estimate (the float baseline, or no lowering): it cannot be shown to fit
        if max_lut is not None and hw["lut"] > max_lut:
            continue
        if max_bram is not None and hw["bram18"] > max_bram:
            continue
        out.append(r)
    return out


def select(results, mu: float, max_lut=None, max_bram=None) -> dict:
    candidates = constrained(results, max_lut, max_bram)
    if not candidates:
        raise QsnnError(f"no sweep point meets the constraints (max LUT {max_lut}, max BRAM {max_bram}); relax them")
    return max(candidates, key=lambda r: reward(r, mu))


def command_for(result: dict, dataset_out="runs/selected") -> str:
    """The `qsnn train` + `qsnn build` command lines that reproduce a point."""
    c = result["config"]
    q, t, d, m = c["quant"], c["train"], c["data"], c["model"]
    wb = "float" if q["weight_bits"] is None else q["weight_bits"]
    parts = [f"qsnn train --dataset {d['dataset']} --out {dataset_out} --weight-bits {wb}"]
    if q["weight_bits"] is not None:
        parts.append(f"--membrane-bits {q['membrane_bits']} --rounding {q['rounding']} --scheme {q['scheme']}")
    parts.append(
        f"--steps {d['steps']} --epochs {t['epochs']} --hidden {','.join(map(str, m['hidden']))} --seed {t['seed']}"
    )
    if t["prune"] > 0:
        parts.append(f"--prune {t['prune']:g} --prune-mode {t['prune_mode']}")
    cmd = " ".join(parts)
    if q["weight_bits"] is not None:
        cmd += f" && qsnn build {dataset_out} --board Pynq-Z2 --out build/selected --until csim"
    return cmd
