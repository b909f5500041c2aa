"""Software latency: the per-sample inference time of a run's networks on this host, measured (the CSE237C report's
"latency in software" and its Figure 2), beside the hardware latency the estimates and simulations give.

Each network answers one sample at a time (encoding included, as an application would call it), after one warm-up
call, timed by the wall clock (``time.perf_counter_ns``); the figures are the median and spread over the samples.
They depend on this host and its load: compare them with each other, on one machine.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

SAMPLES = 30  # per network: enough for a median and a spread; the torch networks take ~10-100 ms each


def per_sample_us(run_one, x: np.ndarray) -> np.ndarray:
    """Microseconds ``run_one`` takes for each sample of ``x`` (a batch of one each), after one warm-up call."""
    run_one(x[:1])
    out = np.empty(len(x))
    for i in range(len(x)):
        t0 = time.perf_counter_ns()
        run_one(x[i : i + 1])
        out[i] = (time.perf_counter_ns() - t0) / 1e3
    return out


def summary(us: np.ndarray) -> dict:
    return {
        "median_us": float(np.median(us)),
        "p5_us": float(np.percentile(us, 5)),
        "p95_us": float(np.percentile(us, 95)),
        "min_us": float(us.min()),
        "max_us": float(us.max()),
        "samples": int(len(us)),
    }


def measure(networks: dict, x: np.ndarray) -> tuple[dict, dict]:
    """({network: summary} with the host, {network: per-sample us}) for ``networks`` {name: run_one} on the first
    SAMPLES samples of ``x``."""
    x = x[:SAMPLES]
    raw = {name: per_sample_us(run_one, x) for name, run_one in networks.items()}
    figures = {name: summary(us) for name, us in raw.items()}
    figures["host"] = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "note": "wall clock per sample on this host, one sample at a time after a warm-up",
    }
    return figures, raw


def plot(raw: dict, path: Path) -> None:
    """A histogram of the per-sample latencies of each network (the report's Figure 2), written to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    lo = min(float(us.min()) for us in raw.values())
    hi = max(float(us.max()) for us in raw.values())
    bins = np.geomspace(max(lo, 1e-3), max(hi, lo * 1.01, 1e-3), 40)
    for name, us in raw.items():
        ax.hist(us, bins=bins, alpha=0.6, label=f"{name} (median {np.median(us):,.0f} us)")
    ax.set_xscale("log")
    ax.set_xlabel("inference latency per sample on the host (us, measured)")
    ax.set_ylabel("samples")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
