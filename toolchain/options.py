"""The command-line options of a run, derived from the config fields' declarations (toolchain.config.option)
and the neuron models' parameters (NeuronModel.params): argparse groups for train / sweep / search, the
RunConfig of parsed options, the grid axes, and the option of each field for the command that reproduces a run.
"""

from __future__ import annotations

import argparse
import dataclasses

from toolchain import argtypes
from toolchain.config import RunConfig
from toolchain.errors import QsnnError
from toolchain.golden import neurons

TITLES = {"data": "data", "model": "model", "quant": "quantization", "neuron": "neuron", "train": "training"}


def fields():
    """(section, field) of every config field that has an option, in the config's order."""
    for section in dataclasses.fields(RunConfig):
        for f in dataclasses.fields(section.default_factory):
            if f.metadata.get("flag"):
                yield section.name, f


def dest(f) -> str:
    return f.metadata["flag"].lstrip("-").replace("-", "_")


def axes() -> tuple[str, ...]:
    """The fields `sweep` and `search` take lists of (their grid)."""
    return tuple(f.name for _, f in fields() if f.metadata.get("axis"))


def params() -> dict[str, tuple[neurons.Param, tuple[str, ...]]]:
    """{name: (Param, the models that declare it)} over the registered neuron models."""
    out: dict = {}
    for model in neurons.REGISTRY.values():
        for name, prm in model.params.items():
            out[name] = (prm, out.get(name, (prm, ()))[1] + (model.name,))
    return out


def _shown(value) -> str:
    if value is None:
        return "float"  # the one field whose None is a word on the command line (--weight-bits)
    if isinstance(value, tuple):
        return ",".join(_shown(v) for v in value) or "none"
    return str(value)


def add_train_options(p: argparse.ArgumentParser, grid=False, only=None, defaults=None, helps=None) -> None:
    """Every run option, grouped by config section; with ``grid`` the axes (and the models' parameters) take
    comma-separated lists: the grid of `sweep` / `search`. ``only``: just these fields (the others, and the
    models' parameters, keep their defaults); ``defaults`` / ``helps``: another default or help of a field."""
    groups, defaults, helps = {}, defaults or {}, helps or {}
    for section, f in fields():
        meta = dict(f.metadata)
        meta["help"] = helps.get(f.name, meta["help"])
        if only is not None and f.name not in only:
            p.set_defaults(**{dest(f): (not f.default) if meta.get("invert") else f.default})
            continue
        if section not in groups:
            title = TITLES[section] + (" (comma-separated lists: the grid)" if grid and section == "quant" else "")
            groups[section] = p.add_argument_group(title)
        g = groups[section]
        if isinstance(f.default, bool):
            g.add_argument(meta["flag"], action="store_true", help=meta["help"])
            continue
        listed = grid and meta.get("axis")
        parse = meta.get("parse", str)
        default = defaults.get(f.name, f.default)
        if listed:
            default = meta.get("grid", (default,))
            parse = argtypes.comma_list(parse)
        choices = meta.get("choices")
        choices = choices() if callable(choices) else choices
        text = meta["help"]
        if choices and not all(c in text for c in choices):
            text += f" ({' | '.join(choices)})"
        if default is not None or meta["flag"] == "--weight-bits":
            text += f" (default {_shown(default)})"
        g.add_argument(meta["flag"], type=parse, default=default, help=text, metavar=meta.get("metavar"))
    if only is not None:
        p.set_defaults(**{f"param_{name}": None for name in params()})
        return
    g = p.add_argument_group("neuron model parameters" + (" (comma-separated lists: sweep axes)" if grid else ""))
    for name, (prm, models) in params().items():
        g.add_argument(
            f"--{name.replace('_', '-')}",
            dest=f"param_{name}",
            type=argtypes.comma_list(float) if grid else float,
            default=None,
            metavar=name.upper(),
            help=f"{', '.join(models)}: {prm.help} (default {prm.default:g})",
        )


def config_from_args(a, **override) -> RunConfig:
    """A validated RunConfig from parsed options; ``override`` replaces single fields by name (a grid point),
    ``params`` the neuron model's parameters."""
    v = {**vars(a), **override}
    sections = {s.name: {} for s in dataclasses.fields(RunConfig)}
    for section, f in fields():
        value = v[f.name] if f.name in override else v[dest(f)]
        if f.metadata.get("invert"):
            value = not value
        sections[section][f.name] = tuple(value) if isinstance(value, list) else value
    model = neurons.get(sections["neuron"]["model"], "--neuron")
    given = override.get("params") or {n: v[f"param_{n}"] for n in params() if v.get(f"param_{n}") is not None}
    stray = sorted(set(given) - set(model.params))
    if stray:
        owners = params()
        raise QsnnError(
            f"--{stray[0].replace('_', '-')} is a parameter of {', '.join(owners[stray[0]][1])}, not of the "
            f"neuron model {model.name!r}; give --neuron {owners[stray[0]][1][0]} or leave it out"
        )
    sections["neuron"]["params"] = {n: given.get(n, prm.default) for n, prm in model.params.items()}
    cfg = RunConfig(**{s.name: s.default_factory(**sections[s.name]) for s in dataclasses.fields(RunConfig)})
    if cfg.quant.weight_bits is None:
        cfg.quant.membrane_bits, cfg.quant.membrane_shift = None, 0
    return cfg.validate()


def grid(a) -> tuple[dict, dict, RunConfig]:
    """The grid of `sweep` / `search` from parsed options: (axes {field: values}, the neuron model's parameter
    axes {name: values}, the base config: every axis at its first value). Empty lists are refused."""
    values = {axis: getattr(a, axis) for axis in axes()}
    values.update({f"param_{n}": getattr(a, f"param_{n}") for n in params() if getattr(a, f"param_{n}") is not None})
    for key, vs in values.items():
        if not vs:
            flag = key.removeprefix("param_").replace("_", "-")
            raise QsnnError(f"--{flag} is empty; give a comma-separated list of values")
    param_axes = {k.removeprefix("param_"): v for k, v in values.items() if k.startswith("param_")}
    field_axes = {k: v for k, v in values.items() if not k.startswith("param_")}
    base = config_from_args(
        a, **{k: v[0] for k, v in field_axes.items()}, params={k: v[0] for k, v in param_axes.items()}
    )
    return field_axes, param_axes, base


def train_flags() -> dict[tuple[str, str], str]:
    """{(section, field): its `qsnn train` option}."""
    return {(section, f.name): f.metadata["flag"] for section, f in fields()}
