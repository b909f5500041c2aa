"""--device: where torch trains and evaluates (toolchain.device). On a machine without CUDA, auto is the CPU and
gives the same run bit for bit; cuda is refused naming the fix; a sweep's points claim GPUs one at a time. The
`gpu` test trains on a CUDA device where there is one and checks the integer model there against the golden model
and against the CPU."""

import json
import threading
import time

import numpy as np
import pytest
import torch

from toolchain import device as devices
from toolchain.cli import main
from toolchain.errors import QsnnError

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="torch sees a CUDA device here: auto is the GPU")
DEMO = ["train", "--dataset", "digits", "--weight-bits", "4", "--membrane-bits", "16", "--epochs", "2"]


def _files(run):
    record = json.loads((run / "config.json").read_text())
    return record["files"], json.loads((run / "metrics.json").read_text())


@no_cuda
def test_auto_and_cpu_give_the_same_run_without_cuda(tmp_path):
    for name in ("cpu", "auto"):
        assert main([*DEMO, "--device", name, "--out", str(tmp_path / name)]) == 0
    (cpu_files, cpu), (auto_files, auto) = _files(tmp_path / "cpu"), _files(tmp_path / "auto")
    assert cpu_files == auto_files  # model.pt and golden.npz hash alike
    assert cpu["top1"] == auto["top1"] and cpu["mismatches"] == auto["mismatches"] == 0
    assert cpu["device"] == auto["device"] == "cpu" and cpu["train_samples_per_s"] > 0


@no_cuda
@pytest.mark.parametrize("spec", ["cuda", "cuda:1"])
def test_cuda_without_a_cuda_device_is_refused_naming_the_fix(spec, tmp_path, capsys):
    out = tmp_path / "r"
    assert main([*DEMO, "--device", spec, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"--device {spec}" in err and "sees no CUDA device" in err and "--device cpu" in err
    assert not out.exists()


@no_cuda
@pytest.mark.parametrize("command", ["sweep", "search"])
def test_a_sweep_or_search_on_a_missing_gpu_stops_before_any_point(command, tmp_path, capsys):
    out = tmp_path / "s"
    argv = [command, "--out", str(out), "--dataset", "digits", "--weight-bits", "4", "--epochs", "1"]
    assert main([*argv, "--device", "cuda", "--no-estimate"]) == 2
    err = capsys.readouterr().err
    assert "sees no CUDA device" in err and "Traceback" not in err
    assert not (out / "points").exists()


def test_a_device_option_is_spelled_auto_cpu_cuda_or_cuda_n():
    assert [devices.check_spec(s) for s in ("AUTO", "cpu", " cuda ", "cuda:3")] == ["auto", "cpu", "cuda", "cuda:3"]
    for bad in ("gpu", "cuda:", "cpu:0", "cuda:-1", "mps"):
        with pytest.raises(QsnnError, match="auto, cpu, cuda or cuda:N"):
            devices.check_spec(bad)


def test_sweep_points_claim_one_gpu_each_and_wait_when_all_are_held(tmp_path):
    """Two GPUs: the first two points get cuda:0 and cuda:1; a third waits until one is released and takes it.
    cuda:N and cpu are not spread."""
    with devices.claim("cuda:1", gpus=2, lock_dir=tmp_path) as pinned:
        assert pinned == "cuda:1"
    got, order = {}, []

    def third():
        with devices.claim("cuda", gpus=2, lock_dir=tmp_path, poll_s=0.02) as d:
            order.append(("third", d))

    with devices.claim("cuda", gpus=2, lock_dir=tmp_path) as a:
        got["a"] = a
        with devices.claim("cuda", gpus=2, lock_dir=tmp_path) as b:
            got["b"] = b
            waiter = threading.Thread(target=third)
            waiter.start()
            time.sleep(0.2)
            assert not order  # both GPUs held: the third point waits
        order.append(("released", b))
        waiter.join(5)
    assert (got["a"], got["b"]) == ("cuda:0", "cuda:1")
    assert order == [("released", "cuda:1"), ("third", "cuda:1")]


@pytest.mark.gpu
def test_the_demo_trained_on_the_gpu_is_bit_exact_with_the_golden_model_and_the_cpu(tmp_path):
    """Trained on CUDA: the integer mode's spikes on the GPU equal the golden model's on every test sample (the
    run's golden agreement), and the same network evaluated on the GPU and on the CPU gives identical integers."""
    from toolchain.runs import load_run
    from toolchain.train import predict_counts

    out = tmp_path / "gpu"
    assert main([*DEMO, "--epochs", "20", "--device", "cuda", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["device"].startswith("cuda") and metrics["mismatches"] == 0 and metrics["samples"] == 360
    cfg, net, ds = load_run(out)
    on_cpu, _ = predict_counts(net, cfg, ds, ds.x_test, integer=True)
    on_gpu, _ = predict_counts(net.to("cuda"), cfg, ds, ds.x_test, integer=True)
    assert on_cpu.dtype == on_gpu.dtype == np.int64 and int(np.sum(on_cpu != on_gpu)) == 0
