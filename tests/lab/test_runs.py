"""Runs side by side (lab/runs.py): a folder per run named after its flags, one live run per
folder, the runs table and compare.png. --tensorboard is in test_tensorboard.py."""
import csv
import errno
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import REPO, ae, flag_error, run_script, start_script
from lab import runs, training

FAST = ("--batch-size", 16, "--no-show", "--no-gif")   # synthetic data: 125 steps per epoch


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
    assert args.out_dir == os.path.join(runs.OUT_DIR, folder)


def test_out_dir_is_used_as_given_and_the_changes_are_kept_as_flags(tmp_path):
    args = ae.parse_args(["--out-dir", str(tmp_path), "--code-size", "2", "--tied"])
    assert args.out_dir == str(tmp_path)
    assert args.changed == "--code-size 2 --tied"
    assert ae.parse_args([]).changed == ""


@pytest.mark.parametrize("name", ["a/b", "..", "", "x y"])
def test_a_bad_name_is_one_line(name, capsys):
    assert flag_error(["--name", name], capsys).endswith(
        f": error: argument --name: {name!r} is not a folder name: use letters, digits, '-', '_' "
        "and '.', such as relu-2")


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
    runs.lock_file(table_lock, wait=True)     # held until all three wait for it: they must take turns
    processes = [subprocess.Popen([sys.executable, str(REPO / "autoencoder.py"), "--data-dir", str(root),
                                   "--epochs", "2", *map(str, FAST), *flags], cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for flags in ([], ["--code-size", "2"], ["--train-digits", "0,1,2"])]
    for _ in range(600):    # each writes its metrics.json, then waits for the table's lock
        if len(list(results.glob("*/metrics.json"))) == 3 or any(run.poll() for run in processes):
            break
        time.sleep(0.5)
    time.sleep(1)
    assert not (results / "runs.csv").exists()
    table_lock.close()
    outputs = [run.communicate(timeout=300) for run in processes]
    assert [run.returncode for run in processes] == [0, 0, 0], [err for _, err in outputs]
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
    ax = runs.plot_runs(str(tmp_path)).axes[0]
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
    ax = runs.plot_runs(str(tmp_path / "results")).axes[0]
    assert [line.get_linestyle() for line in ax.lines] == ["-", "-", "--", "-"]


def test_with_as_many_runs_on_each_data_the_newest_runs_data_is_the_reference(tmp_path):
    for age, (folder, digits) in enumerate([("all", list(range(10))), ("threes", [3])]):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "metrics.json"
        path.write_text(json.dumps({"config": {"data_dir": "./mnist", "train_digits": digits},
                                    "test_loss": [0.05]}))
        os.utime(path, (1000 + age, 1000 + age))
    ax = runs.plot_runs(str(tmp_path)).axes[0]
    assert [line.get_linestyle() for line in ax.lines] == ["--", "-"]


def test_the_table_keeps_older_columns_and_a_table_that_cannot_be_written_costs_one_line(
        tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results" / "old").mkdir(parents=True)
    table = tmp_path / "results" / "runs.csv"
    table.write_text("\ufeffwhen,folder,my notes\n2026-01-01,old,keep me\n", encoding="utf-8")
    args = ae.parse_args(["--name", "new"])
    metrics = {"test_loss": [0.05], "knn_accuracy": 0.8}
    runs.record_run(args, metrics, training.Clock(), stopped=False)
    rows = list(csv.DictReader(open(table, newline="", encoding="utf-8")))
    assert [(row["folder"], row["my notes"]) for row in rows] == [("old", "keep me"), ("new", "")]
    assert rows[1]["test MSE"] == "0.05" and rows[0]["when"] == "2026-01-01"
    capsys.readouterr()

    def cannot(*_):     # as a spreadsheet that holds the file open does on Windows
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(os, "replace", cannot)
    runs.record_run(args, metrics, training.Clock(), stopped=False)
    assert capsys.readouterr().err == (f"note: could not update {os.path.join('./results/', 'runs.csv')} "
                                       f"and {os.path.join('./results/', 'compare.png')} (Permission "
                                       f"denied); this run's files are all in {args.out_dir}\n")


def test_a_folder_that_cannot_be_locked_is_one_line_and_a_killed_runs_part_files_go(
        tmp_path, monkeypatch, capsys):
    (tmp_path / "autoencoder.part-123-abcd.pt").write_text("half")     # a run killed mid-write
    runs.hold_folder(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == [runs.LIVE_RUN]
    runs.end_runs()
    assert os.listdir(tmp_path) == []

    def no_locks(file, wait):   # as on a network drive without a lock service
        raise OSError(errno.ENOLCK, "No locks available")
    monkeypatch.setattr(runs, "lock_file", no_locks)
    runs.hold_folder(str(tmp_path))
    assert capsys.readouterr().err == (f"note: cannot lock {tmp_path / runs.LIVE_RUN} (No locks "
                                       f"available): a second run into {tmp_path} would not be stopped\n")
    assert runs.HELD == {}


def test_an_output_folder_that_cannot_be_made_is_one_line(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    (tmp_path / "taken").write_text("a file, not a folder")
    result = run_script("--data-dir", root, "--out-dir", tmp_path / "taken")
    assert result.returncode == 1
    assert "cannot write into the output folder" in result.stderr and "Traceback" not in result.stderr
