"""--tensorboard (lab/tensorboard.py): one line without the package, resumed and repeated runs,
the logs read back with TensorBoard's own reader and served by a real TensorBoard server."""
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import ae
from lab.tensorboard import N_EMBEDDING

FAST = ("--batch-size", 16, "--no-show", "--no-gif")   # synthetic data: 125 steps per epoch
HAS_TENSORBOARD = importlib.util.find_spec("tensorboard") is not None
needs_tensorboard = pytest.mark.skipif(not HAS_TENSORBOARD, reason="the tensorboard package is not "
                                       "installed (test-only: pip install tensorboard; .ci/run does)")


def test_without_tensorboard_it_is_one_line_and_the_run_goes_on(synthetic_mnist, tmp_path,
                                                                 monkeypatch, capsys):
    root, _ = synthetic_mnist
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)   # as if not installed
    ae.main(["--data-dir", str(root), "--out-dir", str(tmp_path), "--epochs", "1", "--tensorboard",
             *map(str, FAST)])
    ae.plt.close("all")
    assert capsys.readouterr().err == ("--tensorboard needs the tensorboard package: pip install "
                                       "tensorboard (this run goes on without it)\n")
    assert (tmp_path / "metrics.json").exists() and not list(tmp_path.glob("events.out.tfevents.*"))


@needs_tensorboard
def test_tensorboard_logs_read_back_with_tensorboards_own_reader(synthetic_mnist, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2
    root, arrays = synthetic_mnist
    ae.main(["--data-dir", str(root), "--out-dir", str(tmp_path), "--epochs", "2", "--tensorboard",
             *map(str, FAST)])
    events = EventAccumulator(str(tmp_path), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    train = events.Scalars("loss/train")
    assert [(e.step, round(e.value, 5)) for e in train] == [
        (entry["epoch"] * 125 + entry["step"], round(entry["loss"], 5)) for entry in metrics["train_losses"]]
    assert [(e.step, round(e.value, 6)) for e in events.Scalars("loss/test")] == [
        (125, round(metrics["test_loss"][0], 6)), (250, round(metrics["test_loss"][1], 6))]
    images = events.Images("live figure")
    assert [image.step for image in images] == [e.step for e in train]
    assert images[0].encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n" and images[0].width > 300
    hparams = events.PluginTagToContent("hparams")
    session = plugin_data_pb2.HParamsPluginData.FromString(hparams["_hparams_/session_start_info"])
    assert session.session_start_info.hparams["code_size"].number_value == 3
    assert session.session_start_info.hparams["hidden"].string_value == "128,64,12"
    final = events.Scalars("hparam/final_test_loss")
    assert final[0].value == pytest.approx(metrics["final_test_loss"], rel=1e-6)
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert 'tensor_name: "codes:' in config and "sprite" in config and "single_image_dim: 28" in config
    folder = tmp_path / os.path.dirname(config.split('tensor_path: "')[1].split('"')[0])
    labels = (folder / "metadata.tsv").read_text().split()
    assert labels == [str(label) for label in arrays[False][1][:N_EMBEDDING]]
    assert (folder / "tensors.tsv").read_text().count("\n") == len(labels)
    assert (folder / "sprite.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ae.plt.close("all")


@needs_tensorboard
def test_a_resumed_or_repeated_tensorboard_run_logs_each_step_once(synthetic_mnist, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    root, _ = synthetic_mnist
    run = ["--data-dir", str(root), "--out-dir", str(tmp_path), "--tensorboard", *map(str, FAST)]
    for again in ([], ["--resume", str(tmp_path / "autoencoder.pt")]):     # 1 epoch, then 1 more
        ae.main(run + ["--epochs", str(1 + bool(again))] + again)
    ae.plt.close("all")

    def logged():
        events = EventAccumulator(str(tmp_path), size_guidance={"scalars": 0, "images": 0})
        events.Reload()
        return ([e.step for e in events.Scalars("loss/train")], [e.step for e in events.Scalars("loss/test")],
                [e.step for e in events.Images("live figure")])
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    steps = [entry["epoch"] * 125 + entry["step"] for entry in metrics["train_losses"]]
    assert logged() == (steps, [125, 250], steps)
    ae.main(run + ["--epochs", "1"])    # the same flags again, afresh: the old curves go
    ae.plt.close("all")
    assert logged() == (steps[:len(steps) // 2], [125], steps[:len(steps) // 2])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_tensorboard
def test_a_real_tensorboard_server_serves_two_runs(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    for name, flags in (("tutorial", []), ("code-size-2", ["--code-size", "2"])):
        ae.main(["--data-dir", str(root), "--out-dir", str(tmp_path / name), "--epochs", "1",
                 "--tensorboard", *map(str, FAST), *flags])
    ae.plt.close("all")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(tmp_path),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        def get(path):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
                return json.loads(response.read())
        for _ in range(120):    # it starts in a few seconds, then reads the logs
            try:
                tags = get("/data/plugin/scalars/tags")
                if {"tutorial", "code-size-2"} <= set(tags):
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            raise AssertionError(f"no runs from the server: {server.stderr.read() if server.poll() else ''}")
        assert {"loss/train", "loss/test"} <= set(tags["code-size-2"])
        test = get("/data/plugin/scalars/scalars?run=code-size-2&tag=loss/test")
        assert len(test) == 1 and test[0][1] == 125     # [wall time, step, value]
        stored = json.loads((tmp_path / "code-size-2" / "metrics.json").read_text())["test_loss"]
        assert test[0][2] == pytest.approx(stored[0], rel=1e-6)
    finally:
        server.terminate()
        server.wait(timeout=30)
