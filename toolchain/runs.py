"""Run directories, read and written in one place: the trainer, the flow, NIR import and the sweeps share it.

A run directory holds config.json (the RunConfig, the dataset's facts and the SHA-256 of each file),
model.pt (a state dict: ``torch.load(weights_only=True)``), golden.npz (the integer model, quantized
runs), metrics.json and history.csv. ``tool_versions`` is the provenance that run, build and bundle
records carry.
"""

from __future__ import annotations

import platform
import warnings
from importlib import metadata
from pathlib import Path

from toolchain.config import RunConfig
from toolchain.data import Dataset, load_dataset
from toolchain.errors import QsnnError
from toolchain.fsutil import check_readable, read_json, require_keys, sha256_file
from toolchain.models import SpikingNet

TOOLS = ("qsnn-pynq", "numpy", "torch", "brevitas", "qonnx", "finn-plus", "onnx")


def tool_versions() -> dict:
    out = {"python": platform.python_version()}
    for name in TOOLS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def build_model(cfg: RunConfig, ds: Dataset, quantized: bool | None = None) -> SpikingNet:
    return SpikingNet(cfg, ds.shape, ds.n_classes, ds.input_bits, ds.input_signed, quantized=quantized)


def dataset_meta(cfg, ds) -> dict:
    """The dataset facts a run records in config.json (what the build, the driver and NIR need)."""
    return {
        "name": ds.name,
        "shape": list(ds.shape),
        "n_classes": ds.n_classes,
        "input_bits": ds.input_bits,
        "input_signed": ds.input_signed,
        "class_names": ds.class_names,
    }


def run_config(run_dir) -> RunConfig:
    return run_record(run_dir)[0]


def run_record(run_dir) -> tuple[RunConfig, dict]:
    """A run directory's validated RunConfig and config.json, after checking its files against the hashes
    ``qsnn train`` recorded (a damaged or swapped model.pt / golden.npz is refused, never silently used)."""
    run_dir = Path(run_dir)
    fix = f"is {run_dir} a complete run directory made by 'qsnn train'? Re-run it"
    meta = read_json(run_dir / "config.json", "run configuration", fix)
    require_keys(meta, ("config", "dataset"), run_dir / "config.json", "run configuration", fix)
    try:
        cfg = RunConfig.from_dict(meta["config"])
    except (TypeError, ValueError, AttributeError) as e:
        raise QsnnError(f"{run_dir / 'config.json'} holds an invalid configuration ({e}); {fix}") from None
    names = ["model.pt"] + (["golden.npz"] if cfg.quantized else [])
    for name in names:
        f = run_dir / name
        check_readable(f, "run file", fix)
        want = (meta.get("files") or {}).get(name)
        if want is not None and sha256_file(f) != want:
            raise QsnnError(f"{f} does not match the hash 'qsnn train' recorded (damaged or replaced); {fix}")
    if not isinstance(meta["dataset"], dict):
        raise QsnnError(f"{run_dir / 'config.json'}: 'dataset' is not an object; {fix}")
    return cfg, meta


def load_run(run_dir) -> tuple[RunConfig, SpikingNet, Dataset]:
    """Rebuild a trained network from a run directory (checkpoint read with weights_only=True)."""
    import torch

    run_dir = Path(run_dir)
    cfg, ckpt = run_config(run_dir), run_dir / "model.pt"
    ds = load_dataset(cfg.data)
    net = build_model(cfg, ds)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about protocols before failing on bad files
            state = torch.load(ckpt, map_location="cpu", weights_only=True)
        net.load_state_dict(state)
    except Exception as e:  # noqa: BLE001 - any unpickling/shape failure means a bad checkpoint
        raise QsnnError(
            f"checkpoint {ckpt} is corrupted or from another model ({type(e).__name__}); re-run 'qsnn train'"
        ) from None
    return cfg, net.eval(), ds
