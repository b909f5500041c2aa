"""Dataset loaders, one module per dataset, found by their ``NAME`` (see ``DATASETS``)."""

from toolchain.data import (
    digits,
    dvsgesture,
    fashion_mnist,
    mnist,
    nmnist,
    order_synth,
    radioml,
    radioml2018,
    rf_synth,
    shd,
)
from toolchain.data.base import Dataset
from toolchain.errors import QsnnError

DATASETS = {
    m.NAME: m
    for m in (digits, fashion_mnist, mnist, radioml, radioml2018, rf_synth, order_synth, shd, nmnist, dvsgesture)
}

__all__ = ["DATASETS", "Dataset", "load_dataset", "dataset_table"]


def get(name):
    if name not in DATASETS:
        raise QsnnError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    return DATASETS[name]


def load_dataset(cfg) -> Dataset:
    """Load the dataset named by a DataConfig; raises QsnnError saying why it is unavailable."""
    module = get(cfg.dataset)
    ok, why = module.available(cfg.path)
    if not ok:
        raise QsnnError(f"dataset {cfg.dataset!r} is not available: {why}")
    return module.load(cfg)


def dataset_table(path=None):
    """[(name, available, reason, description)] for every dataset."""
    return [(name, *m.available(path), m.DESCRIPTION) for name, m in DATASETS.items()]
