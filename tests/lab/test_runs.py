"""Runs side by side: a folder per run named after its flags, one live run per folder, the runs
table and compare.png, and --tensorboard read back with TensorBoard's own reader and server."""
import csv
import errno
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import REPO, ae, run_script, start_script

FAST = ("--batch-size", 16, "--no-show", "--no-gif")   # synthetic data: 125 steps per epoch
HAS_TENSORBOARD = importlib.util.find_spec("tensorboard") is not None
needs_tensorboard = pytest.mark.skipif(not HAS_TENSORBOARD, reason="the tensorboard package is not "
                                       "installed (test-only: pip install tensorboard; .ci/run does)")


@pytest.mark.parametrize("flags, folder", [
    ([], "tutorial"),
    (["--epochs", "2", "--no-show", "--device", "cpu"], "tutorial"),   # how a run is shown or how long
    (["--code-size", "3"], "tutorial"),                                # the default, typed
    (["--code-size", "2"], "code-size-2"),
    (["--activation", "relu", "--code-size", "2"], "code-size-2_activation-relu"),  # --help's order
    (["--hidden", "256,128"], "hidden-256-128"),
    (["--hidden", ""], "hidden-none"),
    (["--variational"], "variational"),             # its own learning rate is its default
    (["--variational", "--lr", "0.005"], "lr-0.005_variational"),
    (["--recipe", "homl-stacked"], "recipe-homl-stacked"),
    (["--recipe", "homl-stacked", "--epochs", "3", "--lr", "0.01"], "recipe-homl-stacked_lr-0.01"),
    (["--name", "mine", "--code-size", "2"], "mine"),
])
def test_a_run_without_out_dir_gets_a_folder_named_after_what_it_changes(flags, folder):
    args = ae.parse_args(flags)
    assert args.out_dir == os.path.join(ae.OUT_DIR, folder)


def test_out_dir_is_used_as_given_and_the_changes_are_kept_as_flags(tmp_path):
    args = ae.parse_args(["--out-dir", str(tmp_path), "--code-size", "2", "--tied"])
    assert args.out_dir == str(tmp_path)
    assert args.changed == "--code-size 2 --tied"
    assert ae.parse_args([]).changed == ""


@pytest.mark.parametrize("name", ["a/b", "..", "", "x y"])
def test_a_bad_name_is_one_line(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        ae.parse_args(["--name", name])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.endswith(f": error: argument --name: {name!r} is not a "
                                                 "folder name: use letters, digits, '-', '_' and '.', "
                                                 "such as relu-2\n")


def test_a_temporary_file_has_a_name_of_its_own_and_never_stays(tmp_path):
    names = []

    def write(name):
        names.append(name)
        open(name, "w").write("x")
    for _ in range(2):
        ae.save_atomically(str(tmp_path / "metrics.json"), write)
    assert names[0] != names[1] and all(str(os.getpid()) in name and name.endswith(".json")
                                        for name in names)
    assert os.listdir(tmp_path) == ["metrics.json"]


def wait_for_line(process, start):
    for line in process.stdout:
        if line.startswith(start):
            return line
    raise AssertionError(f"the run ended without a line starting {start!r}: {process.stderr.read()}")


def test_a_second_run_into_a_live_runs_folder_stops_in_one_line_but_a_killed_ones_is_free(
        synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    first = start_script("--data-dir", root, "--out-dir", tmp_path, "--epochs", 500, *FAST)
    wait_for_line(first, "Epoch:  0 | train loss")
    second = run_script("--data-dir", root, "--out-dir", tmp_path, "--epochs", 1, *FAST)
    assert second.returncode == 1 and second.stderr.count("\n") == 1, second.stderr
    assert second.stderr.startswith(f"error: {tmp_path} is in use by a live run (pid {first.pid}, "
                                    "started ")
    assert second.stderr.endswith("): let it finish, or run beside it with --name NAME or "
                                  "--out-dir DIR\n")
    assert "train loss" not in second.stdout
    assert first.poll() is None     # the first goes on
    first.kill()                    # as the system kills a run: no chance to clean up
    first.wait()
    third = run_script("--data-dir", root, "--out-dir", tmp_path, "--epochs", 1, *FAST)
    assert third.returncode == 0, third.stderr
    assert json.loads((tmp_path / "metrics.json").read_text())["config"]["epochs"] == 1


def test_runs_that_finish_together_each_add_a_row_and_are_drawn_in_compare_png(
        synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    results = tmp_path / "results"
    results.mkdir()
    table_lock = open(results / ".runs-lock", "a+")
    ae.lock_file(table_lock, wait=True)     # held until all three wait for it: they must take turns
    runs = [subprocess.Popen([sys.executable, str(REPO / "autoencoder.py"), "--data-dir", str(root),
                              "--epochs", "2", *map(str, FAST), *flags], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for flags in ([], ["--code-size", "2"], ["--train-digits", "0,1,2"])]
    for _ in range(600):    # each writes its metrics.json, then waits for the table's lock
        if len(list(results.glob("*/metrics.json"))) == 3 or any(run.poll() for run in runs):
            break
        time.sleep(0.5)
    time.sleep(1)
    assert not (results / "runs.csv").exists()
    table_lock.close()
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [err for _, err in outputs]
    rows = list(csv.DictReader(open(results / "runs.csv", newline="")))
    assert sorted(row["folder"] for row in rows) == ["batch-size-16", "batch-size-16_code-size-2",
                                                      "batch-size-16_train-digits-0-1-2"]
    row = next(row for row in rows if row["folder"] == "batch-size-16_code-size-2")
    metrics = json.loads((results / "batch-size-16_code-size-2" / "metrics.json").read_text())
    assert row["flags"] == "--batch-size 16 --code-size 2" and row["epochs"] == "2" and row["ended"] == "finished"
    assert float(row["test MSE"]) == pytest.approx(metrics["final_test_loss"], rel=1e-3)
    assert float(row["5-NN"]) == pytest.approx(metrics["knn_accuracy"], rel=1e-3)
    assert float(row["per image"]) == pytest.approx(784 * metrics["final_test_loss"], rel=1e-3)
    assert all(f"this one is row " in out and f"{os.path.join('results', 'runs.csv')}" in out
               for out, _ in outputs)
    assert (results / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a run with --out-dir writes there only, as before
    other = run_script("--data-dir", root, "--out-dir", tmp_path / "elsewhere", "--epochs", 1, *FAST,
                       cwd=tmp_path)
    assert other.returncode == 0 and "Runs:" not in other.stdout
    assert len(list(csv.DictReader(open(results / "runs.csv", newline="")))) == 3


def test_compare_png_labels_every_run_and_marks_other_training_data(tmp_path):
    for age, (folder, losses, digits) in enumerate([("tutorial", [0.05, 0.04], list(range(10))),
                                                    ("code-size-2", [0.06, 0.05, 0.045], list(range(10))),
                                                    ("train-digits-0-1", [0.03], [0, 1])]):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "metrics.json"
        path.write_text(json.dumps({"config": {"data_dir": "./mnist/", "train_digits": digits},
                                    "test_loss": losses, "knn_accuracy": 0.8}))
        os.utime(path, (1000 + age, 1000 + age))    # in this order, the odd one out the newest
    (tmp_path / "half-written").mkdir()
    (tmp_path / "half-written" / "metrics.json").write_text("{")
    (tmp_path / "not-ours").mkdir()
    (tmp_path / "not-ours" / "metrics.json").write_text('{"test_loss": [0.1]}')
    ax = ae.plot_runs(str(tmp_path)).axes[0]
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["tutorial: 0.0400, 5-NN 80.0%", "code-size-2: 0.0450, 5-NN 80.0%",
                      "train-digits-0-1: 0.0300, 5-NN 80.0% (other training data: not comparable)"]
    assert [line.get_linestyle() for line in ax.lines] == ["-", "-", "--"]
    assert ax.get_yscale() == "log" and list(ax.lines[1].get_xdata()) == [1, 2, 3]


def test_the_same_files_through_another_path_are_the_same_data(tmp_path):
    (tmp_path / "mnist" / "MNIST").mkdir(parents=True)
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "MNIST").symlink_to(tmp_path / "mnist" / "MNIST")
    (tmp_path / "other" / "MNIST").mkdir(parents=True)
    for age, (folder, data_dir) in enumerate([("here", "mnist"), ("there", "linked/"),
                                              ("else", "other"), ("again", "./mnist/")]):
        (tmp_path / "results" / folder).mkdir(parents=True)
        path = tmp_path / "results" / folder / "metrics.json"
        path.write_text(json.dumps({"config": {"data_dir": str(tmp_path / data_dir)}, "test_loss": [0.05]}))
        os.utime(path, (1000 + age, 1000 + age))
    ax = ae.plot_runs(str(tmp_path / "results")).axes[0]
    assert [line.get_linestyle() for line in ax.lines] == ["-", "-", "--", "-"]


def test_with_as_many_runs_on_each_data_the_newest_runs_data_is_the_reference(tmp_path):
    for age, (folder, digits) in enumerate([("all", list(range(10))), ("threes", [3])]):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "metrics.json"
        path.write_text(json.dumps({"config": {"data_dir": "./mnist", "train_digits": digits},
                                    "test_loss": [0.05]}))
        os.utime(path, (1000 + age, 1000 + age))
    ax = ae.plot_runs(str(tmp_path)).axes[0]
    assert [line.get_linestyle() for line in ax.lines] == ["--", "-"]


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


def test_name_and_out_dir_together_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        ae.parse_args(["--name", "mine", "--out-dir", "elsewhere"])
    assert exit_info.value.code == 2 and capsys.readouterr().err.endswith(
        "error: argument --name: --out-dir names the folder already: use --name or --out-dir\n")


def test_the_table_keeps_older_columns_and_a_table_that_cannot_be_written_costs_one_line(
        tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results" / "old").mkdir(parents=True)
    table = tmp_path / "results" / "runs.csv"
    table.write_text("\ufeffwhen,folder,my notes\n2026-01-01,old,keep me\n", encoding="utf-8")
    args = ae.parse_args(["--name", "new"])
    metrics = {"test_loss": [0.05], "knn_accuracy": 0.8}
    ae.record_run(args, metrics, ae.Clock(), stopped=False)
    rows = list(csv.DictReader(open(table, newline="", encoding="utf-8")))
    assert [(row["folder"], row["my notes"]) for row in rows] == [("old", "keep me"), ("new", "")]
    assert rows[1]["test MSE"] == "0.05" and rows[0]["when"] == "2026-01-01"
    capsys.readouterr()

    def cannot(*_):     # as a spreadsheet that holds the file open does on Windows
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(ae.os, "replace", cannot)
    ae.record_run(args, metrics, ae.Clock(), stopped=False)
    assert capsys.readouterr().err == (f"note: could not update {os.path.join('./results/', 'runs.csv')} "
                                       f"and {os.path.join('./results/', 'compare.png')} (Permission "
                                       f"denied); this run's files are all in {args.out_dir}\n")


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
    assert labels == [str(label) for label in arrays[False][1][:ae.N_EMBEDDING]]
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


def test_a_folder_that_cannot_be_locked_is_one_line_and_a_killed_runs_part_files_go(
        tmp_path, monkeypatch, capsys):
    (tmp_path / "autoencoder.part-123-abcd.pt").write_text("half")     # a run killed mid-write
    ae.hold_folder(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == [ae.LIVE_RUN]
    ae.end_runs()
    assert os.listdir(tmp_path) == []

    def no_locks(file, wait):   # as on a network drive without a lock service
        raise OSError(errno.ENOLCK, "No locks available")
    monkeypatch.setattr(ae, "lock_file", no_locks)
    ae.hold_folder(str(tmp_path))
    assert capsys.readouterr().err == (f"note: cannot lock {tmp_path / ae.LIVE_RUN} (No locks "
                                       f"available): a second run into {tmp_path} would not be stopped\n")
    assert ae.HELD == {}
