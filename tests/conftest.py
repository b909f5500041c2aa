"""Markers by cost: `slow` runs everywhere (CI too); `vivado`, `board` and `gpu` skip with the reason."""

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("TQDM_DISABLE", "1")


def vendor_tool():
    for name in ("vitis_hls", "vivado_hls", "vivado"):
        if shutil.which(name):
            return name
    return None


def on_pynq_board():
    try:
        import pynq  # noqa: F401
    except ImportError:
        return False
    return Path("/sys/class/fpga_manager").exists() or Path("/dev/xdevcfg").exists()


def cuda_device():
    """(whether torch sees a CUDA device, why not)."""
    import torch

    if torch.cuda.is_available():
        return True, ""
    build = f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
    return False, f"torch {torch.__version__} ({build}) sees none"


def pytest_collection_modifyitems(config, items):
    tool = vendor_tool()
    board = on_pynq_board()
    cuda, cuda_missing = cuda_device()
    for item in items:
        if "vivado" in item.keywords and not tool:
            item.add_marker(
                pytest.mark.skip(reason="needs Vivado / Vitis HLS: vitis_hls, vivado_hls or vivado not on PATH")
            )
        if "gpu" in item.keywords and not cuda:
            item.add_marker(pytest.mark.skip(reason=f"needs a CUDA device: {cuda_missing}"))
        if "board" in item.keywords and not board:
            item.add_marker(
                pytest.mark.skip(reason="needs a PYNQ board: the pynq package and an FPGA manager not found")
            )


def _train(tmp_path_factory, name, **overrides):
    from toolchain.config import RunConfig
    from toolchain.train import run

    cfg = RunConfig()
    cfg.model.hidden, cfg.train.epochs = (32,), 3
    for key, value in overrides.items():
        section, field = key.split("__")
        setattr(getattr(cfg, section), field, value)
    out = tmp_path_factory.mktemp("runs") / name
    run(cfg, out)
    return out


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """A small trained 4-bit run on digits (beta leak, nearest rounding)."""
    return _train(tmp_path_factory, "demo")


@pytest.fixture(scope="session")
def ternary_stochastic_run(tmp_path_factory):
    """Ternary weights, stochastic rounding (weights frozen by PTQ and the leak product), shift-free beta."""
    return _train(
        tmp_path_factory,
        "ternary",
        quant__weight_bits=2,
        quant__rounding="stochastic",
        quant__scheme="ptq",
        neuron__threshold=1.0,
    )


@pytest.fixture(scope="session")
def conv_run(tmp_path_factory):
    return _train(tmp_path_factory, "conv", model__arch="conv", model__hidden=(4,), model__pool=2, train__epochs=1)


@pytest.fixture(scope="session")
def rate_run(tmp_path_factory):
    """Rate-encoded (Bernoulli spike) input: the first layer's stream is BINARY."""
    return _train(tmp_path_factory, "rate", data__encoding="rate", data__steps=12, neuron__threshold=1.0)
