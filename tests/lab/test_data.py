"""The data files (lab/data.py, checked by the lesson's load_mnist): damaged, missing, gzipped or
undownloadable files, each named in one line (a UserError, which main() prints)."""
import gzip
import shutil
import socket
import time

import numpy as np
import pytest

from autoencoder import load_mnist
from conftest import IDX_NAMES, N_TRAIN, headless_env, run_script, write_idx
from lab import data, errors


def data_error(root, download):
    """The one line, status 1, that load_mnist raises for the files in root."""
    with pytest.raises(errors.UserError) as error:
        load_mnist(str(root), download=download)
    assert error.value.status == 1 and "\n" not in error.value.message, error.value.message
    return error.value.message


def test_missing_data_without_download_names_the_folder_and_the_fix(tmp_path):
    message = data_error(tmp_path, download=False)
    assert str(tmp_path / "MNIST" / "raw") in message and "--no-download" in message


@pytest.fixture
def broken_copy(synthetic_mnist, tmp_path):
    """A copy of the synthetic data root whose files a test may damage."""
    root, _ = synthetic_mnist
    shutil.copytree(root, tmp_path / "data")
    return tmp_path / "data", tmp_path / "data" / "MNIST" / "raw"


@pytest.mark.parametrize("damage, says", [
    (lambda data: data[:-100], "is truncated or corrupt"),
    (lambda data: data + b"extra", "is truncated or corrupt"),
    (lambda data: b"\0\0\x08\x01" + data[4:], "its header is wrong"),      # a labels header
    (lambda data: data[:10], "its header is wrong"),
    (lambda data: b"<html>404 not found</html>", "its header is wrong"),
])
def test_a_damaged_idx_file_is_named_with_the_fix(broken_copy, damage, says):
    root, raw = broken_copy
    path = raw / IDX_NAMES[True][0]
    path.write_bytes(damage(path.read_bytes()))
    message = data_error(root, download=False)
    assert message.startswith(f"error: {path} ") and says in message
    assert message.endswith("replace it with the original")
    assert data_error(root, download=True).endswith("delete it and run again to download it")


def test_an_idx_path_that_is_a_folder_is_one_line(broken_copy):
    root, raw = broken_copy
    path = raw / IDX_NAMES[False][1]
    path.unlink()
    path.mkdir()        # as an archive tool that unpacks into a folder of the file's name
    result = run_script("--data-dir", root, "--out-dir", root / "out", "--no-download", "--no-show")
    assert result.returncode == 1 and result.stderr == (
        f"error: {path} cannot be read (Is a directory): replace it with the original\n")


def test_an_unreadable_idx_file_is_one_line(broken_copy, monkeypatch):
    root, raw = broken_copy     # chmod does not stop root, who runs CI: a refusal of our own

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))
    monkeypatch.setattr(data, "open", refuse, raising=False)   # lab.data's open(), not pytest's
    assert data_error(root, download=True) == (f"error: {raw / IDX_NAMES[True][0]} cannot be read "
                                               "(Permission denied): delete it and run again to "
                                               "download it")


def test_images_and_labels_that_disagree_in_number_are_named(broken_copy):
    root, raw = broken_copy
    write_idx(raw / IDX_NAMES[True][1], np.zeros(N_TRAIN - 1, dtype=np.uint8))
    assert f"holds {N_TRAIN:,} images but {N_TRAIN - 1:,} labels" in data_error(root, download=False)


def test_a_failed_download_says_where_to_put_the_files_within_seconds(tmp_path):
    proxy = "http://127.0.0.1:9"            # nothing listens there: like a machine offline
    start = time.perf_counter()
    result = run_script("--data-dir", tmp_path, "--out-dir", tmp_path / "out", timeout=120,
                        env=headless_env(http_proxy=proxy, https_proxy=proxy))
    assert time.perf_counter() - start < 60
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: could not download")
    assert f"into {tmp_path / 'MNIST' / 'raw'}/" in result.stderr


def test_a_download_that_stalls_gives_up_in_seconds(tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))   # accepts connections, never answers
    proxy = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        start = time.perf_counter()
        result = run_script("--data-dir", tmp_path, "--out-dir", tmp_path / "out", timeout=120,
                            env=headless_env(http_proxy=proxy, https_proxy=proxy))
        seconds = time.perf_counter() - start
    finally:
        listener.close()
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: could not download MNIST (")
    assert result.stderr.count("\n") == 1 and seconds < 60


@pytest.fixture
def gzipped_mnist(synthetic_mnist, tmp_path):
    """A data root whose raw/ holds the four synthetic IDX files as .gz only."""
    root, arrays = synthetic_mnist
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for names in IDX_NAMES.values():
        for name in names:
            (raw / f"{name}.gz").write_bytes(gzip.compress((root / "MNIST" / "raw" / name).read_bytes()))
    return tmp_path, arrays


@pytest.mark.parametrize("download", [False, True])
def test_gzipped_files_are_unpacked_in_place_and_used(gzipped_mnist, download):
    root, arrays = gzipped_mnist
    for train in (True, False):
        images, labels = load_mnist(str(root), train=train, download=download)
        np.testing.assert_array_equal(images.numpy(), arrays[train][0])
        np.testing.assert_array_equal(labels.numpy(), arrays[train][1])
    raw = root / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(
        [name + ext for names in IDX_NAMES.values() for name in names for ext in ("", ".gz")])


@pytest.mark.parametrize("content, reason", [
    (b"this is not gzip", "Not a gzipped file"),
    (gzip.compress(np.random.default_rng(0).bytes(10_000), mtime=0)[:100],     # cut short
     "Compressed file ended before the end-of-stream marker"),
], ids=["not gzip", "cut short"])    # an id must not change between runs (pytest -n compares them)
def test_a_broken_gz_is_one_line_naming_it(gzipped_mnist, content, reason):
    root, _ = gzipped_mnist
    gz = root / "MNIST" / "raw" / f"{IDX_NAMES[True][0]}.gz"
    gz.write_bytes(content)
    message = data_error(root, download=False)
    assert message.startswith(f"error: could not unpack {gz} ({reason}")
    assert message.endswith("replace it with the original") and "\n" not in message
    assert not (root / "MNIST" / "raw" / IDX_NAMES[True][0]).exists()     # no half file left


def test_a_gz_that_unpacks_to_a_damaged_file_names_the_gz(gzipped_mnist):
    root, _ = gzipped_mnist
    raw = root / "MNIST" / "raw"
    name = IDX_NAMES[True][0]
    whole = gzip.decompress((raw / f"{name}.gz").read_bytes())
    (raw / f"{name}.gz").write_bytes(gzip.compress(whole[:100_000]))       # a cut-off download
    message = data_error(root, download=True)
    assert message.startswith(f"error: {raw / name}.gz unpacks to a damaged file: {name} has "
                              f"100,000 bytes where its header promises {len(whole):,}")
    assert message.endswith("delete the .gz and run again to download the .gz")
    assert not (raw / name).exists()        # unpacked again once the .gz is replaced


def test_a_run_uses_gzipped_files_with_no_download(gzipped_mnist, tmp_path):
    root, _ = gzipped_mnist
    result = run_script("--epochs", 1, "--no-download", "--no-show", "--no-gif", "--data-dir", root,
                        "--out-dir", tmp_path / "out")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert f"Training images: ({N_TRAIN}, 28, 28)" in result.stdout


def test_missing_data_is_one_line_without_traceback(tmp_path):
    result = run_script("--no-download", "--data-dir", tmp_path / "nowhere", "--out-dir", tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: MNIST is not in") and result.stderr.count("\n") == 1
