"""Reward-based model selection (tinySNN Eq. 3) and Pareto fronts.

R = acc - mu * M_q / M_0      (acc: top-1 as a fraction, M_q / M_0: memory ratio to the float net)
"""

from __future__ import annotations

from toolchain.errors import QsnnError
from toolchain.golden import neurons


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


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return repr(value) if isinstance(value, float) else str(value)


def command_for(result: dict, run_out="runs/selected") -> str:
    """The `qsnn train` (+ `qsnn build`) command that reproduces a point: every option whose value differs
    from the default is spelled out (floats in full precision); raises if the point used a setting the
    command line cannot set."""
    import shlex

    from toolchain.config import RunConfig
    from toolchain.options import train_flags

    flags = train_flags()  # fields with no option must stay at their defaults to be reproducible
    cfg = RunConfig.from_dict(result["config"]).to_dict()
    default = RunConfig().to_dict()
    wb = cfg["quant"]["weight_bits"]
    argv = ["qsnn", "train", "--out", run_out, "--weight-bits", "float" if wb is None else str(wb)]
    for section, fields in cfg.items():
        for name, value in fields.items():
            if section == "quant" and name == "weight_bits":
                continue
            if (section, name) == ("neuron", "params"):  # the model's own: --<name> where off its default
                model = neurons.get(fields["model"]).params
                for key, v in sorted(value.items()):
                    argv += [] if v == model[key].default else [f"--{key.replace('_', '-')}", _text(v)]
                continue
            if wb is None and section == "quant":
                continue  # a float run has no quantization options
            same = value == default[section][name] or (
                isinstance(value, (list, tuple)) and list(value) == list(default[section][name])
            )
            if same:
                continue
            opt = flags.get((section, name))
            if opt is None:
                raise QsnnError(f"point {result.get('key')}: {section}.{name}={value!r} has no 'qsnn train' option")
            argv += [opt] if isinstance(value, bool) else [opt, _text(value)]
    cmd = shlex.join(argv)
    if wb is not None:
        cmd += " && " + shlex.join(["qsnn", "build", run_out, "--out", "build/selected", "--until", "csim"])
    return cmd
