"""The run options are declared once, by the config fields and the neuron models: a model registered here, with
a real-valued parameter of its own, reaches `qsnn train --help`, the run config, the reproducing command and a
sweep axis with no other file changed."""

import json

import pytest

from toolchain.cli import build_parser, main
from toolchain.config import RunConfig
from toolchain.dse.select import command_for
from toolchain.dse.sweep import load_results
from toolchain.errors import QsnnError
from toolchain.golden import neurons
from toolchain.golden.neurons.lif import LIFModel
from toolchain.options import config_from_args, train_flags

QUICK = ["--epochs", "0", "--limit", "40", "--hidden", "8"]


@pytest.fixture
def toy():
    """A LIF whose float baseline scales its input by a gain gamma (a parameter only this model declares)."""

    @neurons.register
    class Toy(LIFModel):
        name = "toy"
        params = {"gamma": neurons.Param(0.25, 0.0, 2.0, "the input gain of the toy model")}

        def float_step(self, state, x, n, beta, spike):
            return super().float_step(state, n.param("gamma") * x, n, beta, spike)

    yield Toy
    neurons.unregister("toy")


def _config(*argv) -> RunConfig:
    return config_from_args(build_parser().parse_args(["train", "--out", "unused", *argv]))


def test_a_new_models_parameter_is_an_option_of_train(toy, capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--help"])
    assert e.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--gamma GAMMA toy: the input gain of the toy model (default 0.25)" in help_text
    assert "(lif | cubalif | toy)" in help_text  # --neuron's choices come from the registry


def test_a_new_models_parameter_is_in_the_config_and_checked(toy):
    cfg = _config("--neuron", "toy", "--gamma", "0.75")
    assert cfg.neuron.model == "toy" and cfg.neuron.params == {"gamma": 0.75}
    again = RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again.neuron.params == {"gamma": 0.75} and again.neuron.param("gamma") == 0.75
    assert _config("--neuron", "toy").neuron.params == {"gamma": 0.25}  # the model's default, recorded
    assert "--gamma 0.75" in command_for({"key": "k", "config": cfg.to_dict()})
    with pytest.raises(QsnnError, match=r"--gamma 5.0 is out of range; use a number in 0..2"):
        _config("--neuron", "toy", "--gamma", "5")
    with pytest.raises(QsnnError, match=r"--gamma is a parameter of toy, not of the neuron model 'lif'"):
        _config("--gamma", "0.5")
    with pytest.raises(QsnnError, match=r"--alpha is a parameter of cubalif, not of the neuron model 'toy'"):
        _config("--neuron", "toy", "--alpha", "0.5")
    bad = cfg.to_dict()
    bad["neuron"]["params"] = {"gamma": 0.5, "delta": 1.0}
    with pytest.raises(QsnnError, match=r"neuron model 'toy' has no parameter delta; its parameters: gamma"):
        RunConfig.from_dict(bad)


def test_a_new_models_parameter_is_a_sweep_axis(toy, tmp_path):
    out = tmp_path / "sweep"
    argv = ["sweep", "--out", str(out), "--neuron", "toy", "--gamma", "0.5,1.5", "--weight-bits", "4", *QUICK]
    assert main([*argv, "--no-estimate", "--jobs", "1"]) == 0
    results = load_results(out)
    assert sorted(r["key"] for r in results) == ["w4_mauto_nearest_qat_gamma0.5", "w4_mauto_nearest_qat_gamma1.5"]
    assert sorted(r["config"]["neuron"]["params"]["gamma"] for r in results) == [0.5, 1.5]
    assert all("metrics" in r for r in results)


def test_every_field_with_an_option_is_parsed_into_its_field():
    """An independent check of the derivation: each field's option, given a value off its default, lands in
    that field and nowhere else."""
    values = {"--dataset": "rf-synth", "--steps": "5", "--encoding": "rate", "--data-path": "/d", "--snrs": "3,4"}
    values |= {"--limit": "9", "--arch": "conv", "--hidden": "4,4", "--kernel": "5", "--pool": "2", "--fc": "7"}
    values |= {"--readout": "first-spike", "--weight-bits": "6", "--membrane-bits": "12", "--membrane-shift": "1"}
    values |= {"--rounding": "floor", "--scheme": "ptq", "--threshold": "0.7", "--leak": "shift", "--beta": "0.5"}
    values |= {"--beta-frac-bits": "6", "--leak-shift": "3", "--reset": "zero", "--neuron": "cubalif"}
    values |= {"--epochs": "3", "--batch-size": "16", "--lr": "0.01", "--seed": "4", "--prune": "0.25"}
    values |= {"--prune-mode": "joint", "--layers": "c4k3", "--device": "cpu"}
    values |= {"--bin-ms": "2.5", "--event-pool": "3", "--event-bits": "2"}
    flags = {flag: key for key, flag in train_flags().items()}
    default = RunConfig().to_dict()
    for flag, text in values.items():
        cfg = _config(flag, text, *(["--arch", "conv"] if flag in ("--pool", "--fc") else [])).to_dict()
        section, name = flags[flag]
        assert cfg[section][name] != default[section][name], flag
        assert str(cfg[section][name]).replace(" ", "").strip("(),'") == text, flag
    cfg = _config("--non-spiking", "--weight-bits", "float", "--per-neuron")
    assert cfg.model.spiking is False and cfg.neuron.per_neuron is True and cfg.quant.weight_bits is None
    assert _config("--recurrent").model.recurrent is True
    assert set(values) | {"--non-spiking", "--per-neuron", "--init-from", "--recurrent"} == set(flags)


def test_a_config_written_as_json_reads_back_equal():
    # run.json / config.json hold lists where the config holds tuples; a run read back must equal the one written
    # (--init-from compares them: a --layers run once refused its own float run)
    cfg = _config("--layers", "c8k3s2p1,mp2,f32", "--hidden", "64,32")
    again = RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert again.model.layers == ("c8k3s2p1", "mp2", "f32") and again.model.hidden == (64, 32)
