"""Surrogate-gradient training with quantization in training (QAT) or after it (PTQ), and pruning.

Schemes (tinySNN's in-training vs post-training quantization):
  - qat: the network is quantized (weights by Brevitas, neuron state and parameters by QuantLIF)
    from the first epoch;
  - ptq: a float network is trained, then quantized: Brevitas' statistics give each layer's
    power-of-two weight scale, neuron parameters are rounded at that scale, stochastic weight
    rounding is frozen as one seeded draw, and a calibration pass over training batches measures
    how often each quantized membrane saturates (reported in metrics.json).

Pruning (global magnitude, over all synaptic weights, ramped up over the first half of training):
  - cumulative: prune first, quantize after (QAT starts at half the epochs; PTQ quantizes the
    pruned float net), as the 002 seed defines it;
  - joint: prune and quantize at once (QAT from epoch 0; PTQ prunes in one shot at quantization).

A run directory (toolchain/runs.py reads it) holds config.json, model.pt (a state dict:
``torch.load(weights_only=True)``), golden.npz (the integer model, quantized runs), metrics.json and
history.csv. It is written in a sibling temporary directory and renamed into place, so it is complete or absent.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from toolchain import device as devices
from toolchain.config import RunConfig
from toolchain.data import Dataset, load_dataset
from toolchain.errors import QsnnError
from toolchain.estimate.memory import network_footprint
from toolchain.fsutil import (
    make_temp_dir,
    replace_dir,
    sha256_file,
    write_json,
    write_text,
)
from toolchain.golden import GoldenModel, encode
from toolchain.models import SpikingNet
from toolchain.runs import build_model, dataset_meta, load_run

EVAL_BATCH = 256


def encode_batch(cfg: RunConfig, ds: Dataset, x: np.ndarray, seed: int | None = None) -> torch.Tensor:
    d = cfg.data
    return torch.from_numpy(encode(x, d.steps, d.encoding, ds.input_bits, d.encoding_seed if seed is None else seed))


# -- pruning ---------------------------------------------------------------------------------------
def prune_global(net: SpikingNet, fraction: float) -> None:
    """Set the masks so that the ``fraction`` of smallest-|W| weights over all layers is zero."""
    if fraction <= 0:
        return
    mags = torch.cat([syn.op.weight.detach().abs().flatten() for syn in net.synapses])
    k = int(round(fraction * mags.numel()))
    if k < 1:
        return
    cut = torch.kthvalue(mags, k).values
    for syn in net.synapses:
        syn.mask.copy_((syn.op.weight.detach().abs() > cut).to(syn.mask.dtype))
    net.apply_masks()


def prune_schedule(target: float, epoch: int, ramp_epochs: int) -> float:
    """Sparsity at the end of ``epoch``: linear ramp to ``target`` over ``ramp_epochs``."""
    if target <= 0:
        return 0.0
    return target * min(1.0, (epoch + 1) / max(1, ramp_epochs))


# -- quantization after float training ---------------------------------------------------------------
def quantize_from(float_net: SpikingNet, cfg: RunConfig, ds: Dataset) -> SpikingNet:
    """A quantized copy of a float network (PTQ, and the cumulative QAT switch-over)."""
    qnet = build_model(cfg, ds, quantized=True)
    qnet.load_state_dict(float_net.state_dict(), strict=False)
    qnet.apply_masks()
    return qnet


def freeze_stochastic_weights(net: SpikingNet, seed: int) -> None:
    """Replace each weight by one seeded stochastic rounding onto its quantization grid."""
    rng = np.random.default_rng(seed)
    net.eval()
    with torch.no_grad():
        for syn in net.synapses:
            if syn.weight_bits == 1:
                continue  # binary weights have no rounding choice (sign only)
            s = syn.weight_scale()
            lim = (1 << (syn.weight_bits - 1)) - 1
            w = syn.op.weight.detach().cpu().numpy() / s
            w_int = np.clip(np.floor(w + rng.random(w.shape)), -lim, lim) * syn.mask.cpu().numpy()
            syn.op.weight.copy_(torch.from_numpy(w_int * s).to(syn.op.weight.dtype))


def calibrate(net: SpikingNet, cfg: RunConfig, ds: Dataset) -> list[float]:
    """Fraction of membrane updates that saturate per layer, on calibration batches (integer mode)."""
    net.eval()
    n = min(len(ds.y_train), cfg.train.calibration_batches * cfg.train.batch_size)
    x = encode_batch(cfg, ds, ds.x_train[:n]).to(device_of(net))
    sat = np.zeros(len(net.neurons))
    with torch.no_grad():
        h = x.to(torch.int64)
        for k, (syn, lif) in enumerate(zip(net.synapses, net.neurons)):
            current = syn(h, integer=True)
            h, stats = lif(current, scale=syn.scale, saturation=True, recurrent=syn.recurrent(integer=True))
            sat[k] = stats
    return sat.tolist()


# -- training loop ---------------------------------------------------------------------------------
def device_of(net) -> torch.device:
    """The device ``net``'s parameters are on (where its inputs go)."""
    return next(net.parameters()).device


def _epoch(net, opt, cfg, ds, epoch, rng, mask_after_step):
    """One epoch; each batch is encoded on the host and moved to the network's device once, in one copy. Returns
    (loss, accuracy) from sums kept on the device (no host round trip per step)."""
    net.train()
    dev = device_of(net)
    order = rng.permutation(len(ds.y_train))
    bs = cfg.train.batch_size
    loss_sum = torch.zeros((), device=dev, dtype=torch.float64)
    correct = torch.zeros((), device=dev, dtype=torch.int64)
    for start in range(0, len(order), bs):
        idx = order[start : start + bs]
        x = encode_batch(cfg, ds, ds.x_train[idx], seed=cfg.data.encoding_seed + 1000 + epoch).float().to(dev)
        y = torch.from_numpy(ds.y_train[idx]).to(dev)
        counts = net(x)
        loss = F.cross_entropy(counts, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if mask_after_step:
            net.apply_masks()
        loss_sum += loss.detach() * len(idx)
        correct += (counts.argmax(1) == y).sum()
    return float(loss_sum) / len(order), int(correct) / len(order)


def fit(
    net,
    cfg: RunConfig,
    ds: Dataset,
    epochs: int,
    first_epoch: int = 0,
    prune_ramp: int = 0,
    desc: str = "train",
    history: list | None = None,
    progress: bool = True,
):
    """Train ``net`` for ``epochs`` epochs (Adam, cosine schedule) on the run's ``--device``, pruning on the given
    ramp; the progress bar shows the loss, the accuracy and the training samples per second."""
    if epochs <= 0:
        return net
    net.to(devices.resolve(cfg.train.device))
    torch.manual_seed(cfg.train.seed + first_epoch)
    rng = np.random.default_rng(cfg.train.seed + first_epoch)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.train.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    bar = tqdm(
        range(epochs), desc=desc, unit="epoch", leave=False, dynamic_ncols=True, disable=None if progress else True
    )
    for e in bar:
        epoch = first_epoch + e
        pruning = cfg.train.prune > 0 and prune_ramp > 0
        if pruning:
            prune_global(net, prune_schedule(cfg.train.prune, epoch, prune_ramp))
        t0 = time.perf_counter()
        loss, acc = _epoch(net, opt, cfg, ds, epoch, rng, mask_after_step=cfg.train.prune > 0)
        sched.step()
        rate = len(ds.y_train) / (time.perf_counter() - t0)
        bar.set_postfix(loss=f"{loss:.3f}", acc=f"{acc:.3f}", samples_s=f"{rate:.0f}")
        if history is not None:
            history.append({"epoch": epoch, "phase": desc, "loss": loss, "train_acc": acc})
    return net


def threshold_units(net: SpikingNet) -> list[int]:
    """Each layer's real threshold in accumulator units at the network's current scales (unclamped)."""
    return [round(lif.neuron.threshold / syn.scale) for syn, lif in zip(net.synapses, net.neurons)]


def check_thresholds(net: SpikingNet) -> None:
    """Raise QsnnError if a layer's integer threshold does not fit its membrane at the initial scales."""
    for k, (syn, lif, units) in enumerate(zip(net.synapses, net.neurons, threshold_units(net))):
        p = lif.params(syn.scale)
        if lif.threshold_overflow:
            raise QsnnError(
                f"layer {k}: threshold {lif.neuron.threshold} is {units} "
                f"accumulator units and does not fit a {p.membrane_bits}-bit membrane (max {p.v_max}); "
                f"use --membrane-bits {max(2, units).bit_length() + 1} or more, or a lower --threshold"
            )


def resolve_membrane_bits(cfg: RunConfig, ds: Dataset) -> int:
    """'auto': the narrowest membrane holding every layer's integer threshold with one bit of headroom
    (range +-2 theta), at the scales of the initial network; at most 32 bits."""
    probe = RunConfig.from_dict(cfg.to_dict())
    probe.quant.membrane_bits = 32
    torch.manual_seed(cfg.train.seed)
    return auto_membrane_bits(build_model(probe, ds, quantized=True))


def auto_membrane_bits(net: SpikingNet) -> int:
    """The narrowest membrane (with one bit of headroom) holding every layer's threshold at ``net``'s scales."""
    theta = max(threshold_units(net))
    need = max(2, int(theta).bit_length() + 2)
    if need > 32:
        raise QsnnError(
            f"--membrane-bits auto: the threshold is {theta} accumulator units, more than a 32-bit "
            "membrane holds; raise --threshold or lower --weight-bits"
        )
    return need


def pretrained(cfg: RunConfig) -> SpikingNet:
    """The float network of run ``cfg.train.init_from``, checked to have the layers and data ``cfg`` asks for."""
    src = cfg.train.init_from
    fcfg, fnet, _ = load_run(src)
    if fcfg.quantized:
        raise QsnnError(f"--init-from {src} holds a quantized run; give a float run (--weight-bits float)")
    same = fcfg.model == cfg.model and fcfg.neuron == cfg.neuron
    same = same and (fcfg.data.dataset, fcfg.data.steps, fcfg.data.encoding) == (
        cfg.data.dataset,
        cfg.data.steps,
        cfg.data.encoding,
    )
    if not same:
        raise QsnnError(
            f"--init-from {src} was trained with other layers, neurons or data; give the same --dataset, --steps, "
            "model and neuron options as that run"
        )
    return fnet


def train_network(cfg: RunConfig, ds: Dataset, history: list | None = None, progress: bool = True):
    """Train by the configured scheme; returns (final net, float net or None, info dict)."""
    t, q = cfg.train, cfg.quant
    log = {"history": history, "progress": progress}
    info = {}
    torch.manual_seed(t.seed)
    if cfg.quantized:
        check_thresholds(build_model(cfg, ds, quantized=True))
        torch.manual_seed(t.seed)
    if not cfg.quantized:
        net = build_model(cfg, ds)
        return fit(net, cfg, ds, t.epochs, prune_ramp=max(1, t.epochs // 2), desc="float", **log), None, info
    if t.prune > 0 and q.weight_bits == 1:
        raise QsnnError("--prune needs --weight-bits >= 2: binary weights have no zero to prune to")
    if q.scheme == "qat":
        if t.prune > 0 and t.prune_mode == "cumulative":
            half = t.epochs // 2
            fnet = fit(
                build_model(cfg, ds, quantized=False),
                cfg,
                ds,
                half,
                prune_ramp=max(1, half),
                desc="prune (float)",
                **log,
            )
            prune_global(fnet, t.prune)
            net = fit(quantize_from(fnet, cfg, ds), cfg, ds, t.epochs - half, first_epoch=half, desc="qat", **log)
            return net, None, info
        net = build_model(cfg, ds, quantized=True) if t.init_from is None else quantize_from(pretrained(cfg), cfg, ds)
        ramp = max(1, t.epochs // 2) if t.prune > 0 else 0
        return fit(net, cfg, ds, t.epochs, prune_ramp=ramp, desc="qat", **log), None, info
    # ptq
    ramp = max(1, t.epochs // 2) if t.prune > 0 and t.prune_mode == "cumulative" else 0
    fnet = fit(build_model(cfg, ds, quantized=False), cfg, ds, t.epochs, prune_ramp=ramp, desc="float", **log)
    prune_global(fnet, t.prune)
    net, info["calibration_saturation"] = post_training_quantize(fnet, cfg, ds)
    return net, fnet, info


def post_training_quantize(fnet: SpikingNet, cfg: RunConfig, ds: Dataset) -> tuple[SpikingNet, list[float]]:
    """The float net ``fnet`` quantized by ``cfg`` (stochastic rounding: one seeded draw of the weights, frozen),
    and the fraction of membrane updates that saturate per layer on calibration batches. Training's PTQ scheme
    and ``qsnn import`` both quantize here."""
    net = quantize_from(fnet, cfg, ds)
    if cfg.quant.rounding == "stochastic":
        freeze_stochastic_weights(net, cfg.train.seed)
    return net, calibrate(net, cfg, ds)


# -- evaluation ------------------------------------------------------------------------------------
def predict_counts(net: SpikingNet, cfg: RunConfig, ds: Dataset, x: np.ndarray, integer: bool = False):
    """Spike counts (N, classes) and per-layer spike rates for integer inputs x."""
    net.eval()
    dev = device_of(net)
    out, rates, n = [], np.zeros(len(net.neurons)), 0
    with torch.no_grad():
        for start in range(0, len(x), EVAL_BATCH):
            xe = encode_batch(cfg, ds, x[start : start + EVAL_BATCH]).to(dev)
            counts, trace = net(xe, integer=integer, record=True)
            out.append(counts.to(torch.int64).cpu().numpy() if integer else counts.cpu().numpy())
            rates += np.array([float(s.float().mean()) for s in trace]) * len(xe)
            n += len(xe)
    return np.concatenate(out), (rates / max(n, 1)).tolist()


def accuracy_metrics(counts: np.ndarray, y: np.ndarray, ds: Dataset, snr: np.ndarray | None = None) -> dict:
    """Top-1 (argmax, ties to the lowest index), top-5, per class and per SNR."""
    pred = np.argmax(counts, axis=1)
    # top-5 with the same tie rule: stable sort on -counts keeps lower indices first
    top5 = np.argsort(-counts, axis=1, kind="stable")[:, :5]
    m = {
        "top1": float(np.mean(pred == y)),
        "top5": float(np.mean((top5 == y[:, None]).any(axis=1))),
        "per_class": {
            ds.class_names[c]: float(np.mean(pred[y == c] == c)) for c in range(ds.n_classes) if np.any(y == c)
        },
    }
    if snr is not None:
        hit5 = (top5 == y[:, None]).any(axis=1)
        m["per_snr"] = {str(int(s)): float(np.mean(pred[snr == s] == y[snr == s])) for s in np.unique(snr)}
        m["per_snr_top5"] = {str(int(s)): float(np.mean(hit5[snr == s])) for s in np.unique(snr)}
    return m


def evaluate(net: SpikingNet, cfg: RunConfig, ds: Dataset, integer: bool = False) -> dict:
    counts, rates = predict_counts(net, cfg, ds, ds.x_test, integer=integer)
    m = accuracy_metrics(counts, ds.y_test, ds, ds.snr_test)
    m["spike_rate"] = rates
    m.update(network_footprint(net))
    return m


def golden_agreement(net: SpikingNet, golden: GoldenModel, cfg: RunConfig, ds: Dataset) -> dict:
    """Compare the golden model's spike counts with the network's integer mode on the test set."""
    ours, _ = predict_counts(net, cfg, ds, ds.x_test, integer=True)
    theirs = np.concatenate([golden.run(ds.x_test[s : s + EVAL_BATCH]) for s in range(0, len(ds.x_test), EVAL_BATCH)])
    bad = int(np.sum(np.any(ours != theirs, axis=1)))
    return {"integer_agreement": 1.0 - bad / len(ours), "mismatches": bad, "samples": len(ours)}


def one_sample(net, cfg: RunConfig, ds: Dataset):
    """``net`` as an application calls it: integer input samples in, class scores out (encoding included)."""
    net.eval()
    dev = device_of(net)

    def run_one(x):
        with torch.no_grad():
            out = net(encode_batch(cfg, ds, x).to(dev))
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        return out

    return run_one


def software_latency(cfg, ds, net, fnet, golden, metrics: dict, folder: Path) -> None:
    """metrics["software_latency"]: per-sample latency on this host of the run's networks (the float one, the
    quantized one in torch, the golden integer model), and their histogram in ``folder``/software_latency.png."""
    from toolchain.estimate import latency

    networks = {"quantized" if cfg.quantized else "float": one_sample(net, cfg, ds)}
    if fnet is not None:
        networks["float"] = one_sample(fnet, cfg, ds)
    if golden is not None:
        networks["golden"] = golden.run
    metrics["software_latency"], raw = latency.measure(networks, ds.x_test)
    latency.plot(raw, folder / "software_latency.png")


# -- run directories ---------------------------------------------------------------------------------
def run(cfg: RunConfig, out: Path, force: bool = False, progress: bool = True) -> dict:
    """Train, evaluate and write a complete run directory at ``out``; returns the metrics."""
    cfg.validate()
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise QsnnError(f"run directory {out} exists and is not empty; choose another --out or pass --force")
    ds = load_dataset(cfg.data)
    if cfg.quant.membrane_bits == "auto":
        cfg.quant.membrane_bits = resolve_membrane_bits(cfg, ds)  # config.json records the resolved width
    t0 = time.perf_counter()
    history = []
    net, fnet, info = train_network(cfg, ds, history, progress)
    train_s = time.perf_counter() - t0
    info = dict(info, train_time_s=train_s, scheme=cfg.quant.scheme if cfg.quantized else "float")
    info.update(device=str(device_of(net)), train_samples_per_s=len(ds.y_train) * cfg.train.epochs / train_s)
    return save_run(cfg, ds, net, out, info, history, fnet)


def save_run(
    cfg: RunConfig, ds: Dataset, net: SpikingNet, out: Path, info: dict, history: list, fnet=None, source=None
):
    """Evaluate ``net`` and write the run directory ``out`` atomically (config, checkpoint, golden model, metrics,
    history); ``source`` records where a network made elsewhere came from (qsnn import). Returns the metrics."""
    out = Path(out)
    metrics = evaluate(net, cfg, ds)
    metrics.update(info, dataset=ds.name, synthetic=ds.synthetic)
    if fnet is not None:
        metrics["float_top1"] = evaluate(fnet, cfg, ds)["top1"]
    tmp = make_temp_dir(out)
    try:
        net.eval()
        if cfg.quantized:
            golden = net.to_golden(ds.input_bits, ds.input_signed, meta=dataset_meta(cfg, ds))
            golden.save(tmp / "golden.npz")
            metrics.update(golden_agreement(net, golden, cfg, ds))
            if cfg.model.spiking:
                from toolchain.estimate.neurobench_metrics import measure

                metrics["neurobench"] = measure(golden, ds.x_test, ds.y_test)
            metrics["threshold_clamped"] = [bool(l.threshold_clamped) for l in net.neurons]
        software_latency(cfg, ds, net, fnet, golden if cfg.quantized else None, metrics, tmp)
        torch.save({k: v.cpu() for k, v in net.state_dict().items()}, tmp / "model.pt")  # loads on any machine
        files = {f.name: sha256_file(f) for f in (tmp / "model.pt", tmp / "golden.npz") if f.is_file()}
        record = {"config": cfg.to_dict(), "dataset": dataset_meta(cfg, ds), "files": files}
        if source is not None:
            record["source"] = source
        write_json(tmp / "config.json", record)
        write_json(tmp / "metrics.json", metrics)
        write_text(
            tmp / "history.csv",
            "epoch,phase,loss,train_acc\n"
            + "".join(f"{h['epoch']},{h['phase']},{h['loss']:.6f},{h['train_acc']:.6f}\n" for h in history),
        )
        replace_dir(tmp, out)  # atomic swap with the old run (--force), then the old one is deleted
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return metrics
