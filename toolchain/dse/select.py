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


# config field -> `qsnn train` option; fields with no option must stay at their defaults to be reproducible
TRAIN_OPTIONS = {
    ("data", "dataset"): "--dataset",
    ("data", "path"): "--data-path",
    ("data", "steps"): "--steps",
    ("data", "encoding"): "--encoding",
    ("data", "snrs"): "--snrs",
    ("data", "limit"): "--limit",
    ("model", "arch"): "--arch",
    ("model", "hidden"): "--hidden",
    ("model", "kernel"): "--kernel",
    ("model", "pool"): "--pool",
    ("model", "fc"): "--fc",
    ("model", "spiking"): "--non-spiking",  # a flag: spelled only when the run is not spiking
    ("quant", "membrane_bits"): "--membrane-bits",
    ("quant", "membrane_shift"): "--membrane-shift",
    ("quant", "rounding"): "--rounding",
    ("quant", "scheme"): "--scheme",
    ("neuron", "threshold"): "--threshold",
    ("neuron", "leak"): "--leak",
    ("neuron", "beta"): "--beta",
    ("neuron", "beta_frac_bits"): "--beta-frac-bits",
    ("neuron", "leak_shift"): "--leak-shift",
    ("neuron", "reset"): "--reset",
    ("neuron", "model"): "--neuron",
    ("neuron", "alpha"): "--alpha",
    ("train", "epochs"): "--epochs",
    ("train", "batch_size"): "--batch-size",
    ("train", "lr"): "--lr",
    ("train", "seed"): "--seed",
    ("train", "init_from"): "--init-from",
    ("train", "prune"): "--prune",
    ("train", "prune_mode"): "--prune-mode",
}


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

    cfg = RunConfig.from_dict(result["config"]).to_dict()
    default = RunConfig().to_dict()
    wb = cfg["quant"]["weight_bits"]
    argv = ["qsnn", "train", "--out", run_out, "--weight-bits", "float" if wb is None else str(wb)]
    for section, fields in cfg.items():
        for name, value in fields.items():
            if section == "quant" and name == "weight_bits":
                continue
            if wb is None and section == "quant":
                continue  # a float run has no quantization options
            same = value == default[section][name] or (
                isinstance(value, (list, tuple)) and list(value) == list(default[section][name])
            )
            if same:
                continue
            opt = TRAIN_OPTIONS.get((section, name))
            if opt is None:
                raise QsnnError(f"point {result.get('key')}: {section}.{name}={value!r} has no 'qsnn train' option")
            argv += [opt] if isinstance(value, bool) else [opt, _text(value)]
    cmd = shlex.join(argv)
    if wb is not None:
        cmd += " && " + shlex.join(["qsnn", "build", run_out, "--out", "build/selected", "--until", "csim"])
    return cmd
