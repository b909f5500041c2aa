"""``qsnn import``: a NIR graph (``reader``) loaded into a float network, quantized by training's post-training
quantization (or fine-tuned by its QAT), written as a run directory as ``qsnn train`` writes one."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolchain.errors import QsnnError

from .conventions import DEFAULT_DT
from .reader import read_network


def import_run(
    path,
    out,
    cfg,
    dt=DEFAULT_DT,
    finetune_epochs=0,
    force=False,
    progress=True,
    reset_from_graph=False,
    discretization="euler",
) -> dict:
    """Read ``path`` (NIR), quantize it post-training by ``cfg`` (its quantization, data and training options; the
    model and neuron options are taken from the graph), fine-tune with QAT for ``finetune_epochs`` if asked, and
    write a run directory at ``out``, as ``qsnn train`` does. With ``reset_from_graph`` the reset is the one the
    neuron nodes' metadata records (``qsnn export`` writes it), if they agree on one. ``discretization``: how the
    neuron ODEs become steps (conventions.DISCRETIZATIONS). Returns the run's metrics."""
    import time

    import torch

    from toolchain.data import load_dataset
    from toolchain.fsutil import sha256_file
    from toolchain.runs import build_model
    from toolchain.train import (
        auto_membrane_bits,
        calibrate,
        check_thresholds,
        fit,
        post_training_quantize,
        quantize_from,
        save_run,
    )

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise QsnnError(f"run directory {out} exists and is not empty; choose another --out or pass --force")
    ds = load_dataset(cfg.data)
    network = read_network(path, ds.shape, dt, discretization)
    m, n = cfg.model, cfg.neuron
    m.arch, m.layers, m.spiking = network["arch"], network["tokens"], True  # the graph's layers, as --layers
    n.leak, n.beta, n.threshold = network["leak"], network["beta"], network["threshold"]
    n.model, n.params, n.per_neuron = network["model"], network["params"], network["per_neuron"]
    if reset_from_graph and network["reset"]:
        n.reset = network["reset"]
    if m.readout == "membrane" or (network["readout"] == "membrane" and m.readout != "count"):
        fix = (
            "an LI node: leave --readout out, the run reads out its membrane"
            if network["readout"] == "membrane"
            else "spiking neurons: use --readout count or first-spike (membrane needs an LI node last)"
        )
        raise QsnnError(f"--readout {m.readout}: the graph ends in {fix}")
    m.readout = "membrane" if network["readout"] == "membrane" else m.readout  # spikes: count or first-spike
    if not network["tokens"]:
        raise QsnnError(f"{path}: the graph is one layer (the classifier); the project's networks have a hidden layer")
    cfg.quant.scheme = "ptq" if finetune_epochs == 0 else "qat"
    cfg.train.epochs = finetune_epochs
    auto = cfg.quantized and cfg.quant.membrane_bits == "auto"
    if auto:
        cfg.quant.membrane_bits = 32  # a probe; the narrowest width is chosen from the imported weights below
    cfg.validate()
    t0 = time.perf_counter()
    torch.manual_seed(cfg.train.seed)
    fnet = build_model(cfg, ds, quantized=False)
    load_into(fnet, network)
    info, history, net = {}, [], fnet
    if cfg.quantized:
        net = quantize_from(fnet, cfg, ds)
        if auto:  # the narrowest membrane that holds the imported thresholds
            cfg.quant.membrane_bits = auto_membrane_bits(net.eval())
            net = quantize_from(fnet, cfg, ds)
        check_thresholds(net)
        if finetune_epochs:  # QAT from the imported weights, as `qsnn train --init-from` starts from a float run
            net = fit(net, cfg, ds, finetune_epochs, desc="qat fine-tune", history=history, progress=progress)
            info["calibration_saturation"] = calibrate(net, cfg, ds)
        else:  # training's post-training quantization: one path for both
            net, info["calibration_saturation"] = post_training_quantize(fnet, cfg, ds)
    info["train_time_s"] = time.perf_counter() - t0
    info["scheme"] = cfg.quant.scheme if cfg.quantized else "float"
    source = {"nir": str(Path(path).resolve()), "sha256": sha256_file(path), "dt": dt, "discretization": discretization}
    return save_run(cfg, ds, net, out, info, history, fnet if cfg.quantized else None, source=source)


def load_into(net, network) -> None:
    """Copy the NIR layers' weights and biases into a float SpikingNet of the same structure."""
    import torch

    if len(net.synapses) != len(network["layers"]):
        raise QsnnError(
            f"NIR: {len(network['layers'])} layers, but the network built for the dataset has {len(net.synapses)}"
        )
    with torch.no_grad():
        for syn, layer in zip(net.synapses, network["layers"]):
            w = torch.from_numpy(layer["weight"]).to(syn.op.weight.dtype)
            if tuple(w.shape) != tuple(syn.op.weight.shape):
                raise QsnnError(
                    f"NIR node '{layer['name']}': weight {tuple(w.shape)} does not fit the dataset's layer "
                    f"{tuple(syn.op.weight.shape)}; does the dataset match the network?"
                )
            syn.op.weight.copy_(w)
            syn.bias.copy_(torch.from_numpy(layer["bias"]).to(syn.bias.dtype))
            if layer.get("recurrent") is not None:
                syn.rec.copy_(torch.from_numpy(layer["recurrent"]).to(syn.rec.dtype))
        for lif, layer in zip(net.neurons, network["layers"]):  # --per-neuron: the NIR values, per channel
            own = lif.decays.get("alpha")  # CubaLIF's
            for vector, values in ((lif.theta, layer["threshold"]), (lif.beta, layer["beta"]), (own, layer["alpha"])):
                if vector is not None:
                    vector.copy_(torch.from_numpy(np.asarray(values)).to(vector.dtype))
