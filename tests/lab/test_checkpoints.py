"""Outputs: whole files only, checkpoints and --resume, Ctrl-C, divergence, reproducibility."""
import errno
import json
import os
import re
import resource
import signal
import subprocess
import time

import pytest
import torch

import autoencoder as ae
from conftest import LOSS_LINE, headless_env, run_script, script, start_script


FAST = ("--batch-size", 16, "--no-show", "--no-gif")   # synthetic data: 125 steps per epoch


def run(root, out, *flags):
    return run_script("--data-dir", root, "--out-dir", out, *FAST, *flags)


def load(path):
    return torch.load(path, weights_only=True)


def test_save_atomically_leaves_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("old")

    def crash(error):
        def write(name):
            with open(name, "w") as f:
                f.write("half")
            raise error
        return write
    with pytest.raises(SystemExit) as exit_info:
        ae.save_atomically(str(path), crash(OSError(errno.ENOSPC, "No space left on device")))
    assert exit_info.value.code == (f"error: could not write {path} (No space left on device): make "
                                    "room on the disk or choose another folder with --out-dir")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["metrics.json"]
    with pytest.raises(SystemExit) as exit_info:
        ae.save_atomically(str(path), crash(PermissionError(errno.EACCES, "Permission denied")))
    assert exit_info.value.code.endswith("(Permission denied): check that folder, or choose another "
                                         "folder with --out-dir")
    ae.save_atomically(str(path), lambda name: open(name, "w").close())
    assert path.read_text() == "" and os.listdir(tmp_path) == ["metrics.json"]


def test_every_epoch_saves_a_checkpoint_and_no_temporary_file_is_left(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    result = run(root, tmp_path, "--epochs", 2)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["autoencoder.pt", "code_grid.png", "generated.png",
                                            "interpolation.png", "latent_3d.png", "loss.png",
                                            "metrics.json", "reconstructions.png", "worst.png"]
    checkpoint = load(tmp_path / "autoencoder.pt")
    assert checkpoint["epoch"] == 2 and checkpoint["config"]["batch_size"] == 16
    assert len(checkpoint["history"]["test_loss"]) == 2
    model = ae.AutoEncoder()
    model.load_state_dict(checkpoint["model"])
    assert checkpoint["optimizer"]["param_groups"][0]["lr"] == 0.005


def test_resume_counts_on_from_the_checkpoint(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    assert run(root, tmp_path / "a", "--epochs", 1).returncode == 0
    result = run(root, tmp_path / "b", "--epochs", 3, "--resume", tmp_path / "a" / "autoencoder.pt")
    assert result.returncode == 0, result.stderr
    assert f"Resuming from {tmp_path / 'a' / 'autoencoder.pt'}: 1 of 3 epochs done, with its --batch-size 16\n" in result.stdout
    assert sorted({int(epoch) for epoch, _ in LOSS_LINE.findall(result.stdout)}) == [1, 2]
    metrics = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert len(metrics["test_loss"]) == 3 and len(metrics["epoch_seconds"]) == 3
    assert [e["epoch"] for e in metrics["train_losses"]] == [0, 0, 1, 1, 2, 2]
    assert load(tmp_path / "b" / "autoencoder.pt")["epoch"] == 3


@pytest.mark.parametrize("flags, says", [
    (["--variational"], "was trained with --variational False but this run has --variational True"),
    (["--tied", "--noise", "0.1"], "--noise 0.0, --tied False but this run has --noise 0.1, --tied True"),
    (["--epochs", "1"], "has already trained 1 epochs: ask for more with --epochs 11"),
    (["--code-size", "4"], "was trained with --code-size 3 but this run has --code-size 4"),
    (["--hidden", "64", "--activation", "relu"], "was trained with --hidden 128,64,12, --activation "
                                                 "tanh but this run has --hidden 64, --activation relu"),
    (["--hidden", ""], "but this run has --hidden '': use the same flags"),
])
def test_resume_refuses_a_checkpoint_that_does_not_fit(synthetic_mnist, tmp_path, flags, says):
    root, _ = synthetic_mnist
    assert run(root, tmp_path, "--epochs", 1).returncode == 0
    result = run(root, tmp_path, "--epochs", 2, "--resume", tmp_path / "autoencoder.pt", *flags)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert says in result.stderr


def test_resume_from_a_checkpoint_of_an_older_layout_is_one_line(tmp_path, capsys):
    # the VAE's encoder used to end in one layer twice the code's width: those weights no longer fit
    args = ae.parse_args(["--variational", "--epochs", "2"])
    model = ae.build_autoencoder(args)
    optimizer = ae.make_optimizer(model, args.lr)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("log_var")}
    state["encoder.6.weight"], state["encoder.6.bias"] = torch.zeros(6, 12), torch.zeros(6)
    path = tmp_path / "autoencoder.pt"
    torch.save({"model": state, "optimizer": optimizer.state_dict(), "epoch": 1, "config": vars(args),
                "history": ae.new_history()}, path)
    with pytest.raises(SystemExit) as exit_info:
        ae.resume(str(path), args, model, optimizer)
    assert str(exit_info.value.code) == (f"error: {path} holds a model of another layout (an older "
                                         "autoencoder.py?): start afresh without --resume")


@pytest.mark.parametrize("content", [None, b"not a checkpoint", b""])
def test_resume_from_something_else_is_one_line(synthetic_mnist, tmp_path, content):
    root, _ = synthetic_mnist
    path = tmp_path / "autoencoder.pt"
    if content is not None:
        path.write_bytes(content)
    result = run(root, tmp_path / "out", "--resume", path)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert f"--resume {path}" in result.stderr and "earlier run" in result.stderr


@pytest.mark.parametrize("content", [torch.zeros(3), {"config": "not a dict", "history": {}, "epoch": 1}])
def test_resume_from_another_torch_file_is_one_line(tmp_path, content, capsys):
    path = tmp_path / "other.pt"
    torch.save(content, path)
    with pytest.raises(SystemExit) as exit_info:
        ae.parse_args(["--resume", str(path)])
    assert str(exit_info.value.code).startswith(f"error: --resume {path} is not a checkpoint of "
                                                "autoencoder.py (")


def start_training(root, out, until):
    """A long run as a real process, returned once it has printed a line starting with until."""
    process = start_script("--data-dir", root, "--out-dir", out, "--epochs", 500, *FAST)
    for line in process.stdout:
        if line.startswith(until):
            return process


def test_ctrl_c_stops_after_the_step_saves_everything_and_exits_130(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    process = start_training(root, tmp_path, until="Epoch:  1 | train loss")
    sent = time.perf_counter()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and time.perf_counter() - sent < 10
    assert "Traceback" not in err and "Ctrl-C: stopping after this step" in err
    assert "Stopped in epoch" in err and f"--resume {tmp_path / 'autoencoder.pt'}" in err
    assert sorted(os.listdir(tmp_path)) == ["autoencoder.pt", "latent_3d.png", "loss.png",
                                            "metrics.json", "reconstructions.png"]   # no animations
    checkpoint = load(tmp_path / "autoencoder.pt")
    assert checkpoint["epoch"] >= 1
    resumed = run(root, tmp_path, "--epochs", checkpoint["epoch"] + 1, "--lr", 0.001, "--resume",
                  tmp_path / "autoencoder.pt")
    assert resumed.returncode == 0, resumed.stderr
    assert load(tmp_path / "autoencoder.pt")["optimizer"]["param_groups"][0]["lr"] == 0.001


def test_a_second_ctrl_c_quits_at_once(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    process = start_training(root, tmp_path, until="Epoch:  0 | train loss")
    process.send_signal(signal.SIGINT)
    # two signals sent back to back arrive as one: wait for the first one's message
    assert process.stderr.readline() == "\n" and process.stderr.readline().startswith("Ctrl-C: ")
    process.send_signal(signal.SIGINT)      # while it saves
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err, err
    assert err == "\nInterrupted: quit without saving the last steps.\n"    # not "Stopped in ..."


def test_divergence_stops_with_the_step_and_keeps_the_last_good_checkpoint(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    assert run(root, tmp_path, "--epochs", 1, "--variational").returncode == 0
    before = (tmp_path / "autoencoder.pt").read_bytes()
    result = run(root, tmp_path, "--epochs", 3, "--variational", "--lr", 100,
                 "--resume", tmp_path / "autoencoder.pt")
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert re.search(r"training diverged: the loss became (nan|inf) in epoch 1, step \d+", result.stderr)
    assert "try a smaller --lr than 100.0" in result.stderr
    assert f"the last good checkpoint, {tmp_path / 'autoencoder.pt'}, is kept" in result.stderr
    assert (tmp_path / "autoencoder.pt").read_bytes() == before


def test_two_cpu_runs_with_one_seed_are_identical(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist     # the CPU asked for: on a GPU, sums may run in another order

    def same_seed(name, seed=3):    # with the animations, which --no-gif in run() leaves out
        return run_script("--data-dir", root, "--out-dir", tmp_path / name, "--batch-size", 16,
                          "--no-show", "--device", "cpu", "--epochs", 2, "--seed", seed)
    runs = [same_seed(name) for name in "ab"]
    assert all(result.returncode == 0 for result in runs), runs[0].stderr
    assert LOSS_LINE.findall(runs[0].stdout) == LOSS_LINE.findall(runs[1].stdout)
    weights = [load(tmp_path / name / "autoencoder.pt")["model"] for name in "ab"]
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])
    pictures = sorted(p.name for p in (tmp_path / "a").iterdir() if p.suffix in (".png", ".gif"))
    assert len(pictures) == 9 and "latent_3d.gif" in pictures   # the README: identical pictures
    for name in pictures:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    other = same_seed("c", seed=4)
    assert LOSS_LINE.findall(other.stdout) != LOSS_LINE.findall(runs[0].stdout)
    assert (tmp_path / "c" / "reconstructions.png").read_bytes() != (
        tmp_path / "a" / "reconstructions.png").read_bytes()


def test_a_checkpoint_that_cannot_be_written_stops_training_in_one_line(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist

    def small_files_only():     # as a full disk does: writes past 200 kB fail (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
    result = subprocess.run(script("--data-dir", root, "--out-dir", tmp_path, *FAST, "--epochs", 3),
                            env=headless_env(), capture_output=True, text=True, timeout=300,
                            preexec_fn=small_files_only)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr == (f"error: could not write {tmp_path / 'autoencoder.pt'} (File too large): "
                             "make room on the disk or choose another folder with --out-dir\n")
    assert {int(epoch) for epoch, _ in LOSS_LINE.findall(result.stdout)} == {0}   # training stopped
    assert os.listdir(tmp_path) == []                                  # no half file, no .part file


@pytest.mark.parametrize("name", ["reconstructions.png", "latent_3d.png", "loss.png", "metrics.json",
                                  "reconstructions.gif", "latent_3d.gif", "generated.png",
                                  "worst.png"])
def test_a_file_that_cannot_be_written_is_one_line_and_keeps_the_checkpoint(
        synthetic_mnist, tmp_path, monkeypatch, name):
    root, _ = synthetic_mnist
    rename = os.replace

    def full_disk(source, target):  # the file is written under its temporary name, then this
        if os.path.basename(target) == name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        rename(source, target)
    monkeypatch.setattr(ae.os, "replace", full_disk)
    with pytest.raises(SystemExit) as exit_info:
        ae.main(["--data-dir", str(root), "--out-dir", str(tmp_path), "--batch-size", "16",
                 "--no-show", "--epochs", "2"])
    checkpoint = tmp_path / "autoencoder.pt"
    assert exit_info.value.code == (
        f"error: could not write {tmp_path / name} (No space left on device): make room on the disk "
        f"or choose another folder with --out-dir; the last checkpoint, {checkpoint}, is kept")
    assert load(checkpoint)["epoch"] == 2
    assert name not in os.listdir(tmp_path) and not [f for f in os.listdir(tmp_path) if ".part" in f]
    ae.plt.close("all")


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_stop_signal_saves_everything_like_ctrl_c(synthetic_mnist, tmp_path, signum, code):
    root, _ = synthetic_mnist
    process = start_training(root, tmp_path, until="Epoch:  1 | train loss")
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    name = signal.Signals(signum).name
    assert err.startswith(f"\n{name}: stopping after this step to save the model (send it again")
    assert "Traceback" not in err and f"--resume {tmp_path / 'autoencoder.pt'}" in err
    assert sorted(os.listdir(tmp_path)) == ["autoencoder.pt", "latent_3d.png", "loss.png",
                                            "metrics.json", "reconstructions.png"]
    checkpoint = load(tmp_path / "autoencoder.pt")
    assert checkpoint["epoch"] >= 1
    resumed = run(root, tmp_path, "--epochs", checkpoint["epoch"] + 1, "--resume",
                  tmp_path / "autoencoder.pt")
    assert resumed.returncode == 0, resumed.stderr
    assert load(tmp_path / "autoencoder.pt")["epoch"] == checkpoint["epoch"] + 1


def test_a_second_stop_signal_ends_at_once(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    process = start_training(root, tmp_path, until="Epoch:  0 | train loss")
    process.send_signal(signal.SIGTERM)
    assert process.stderr.readline() == "\n" and process.stderr.readline().startswith("SIGTERM: ")
    process.send_signal(signal.SIGTERM)     # while it saves
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143 and "Traceback" not in err, err
    assert err == "\nInterrupted: quit without saving the last steps.\n"


def test_under_nohup_a_closed_terminal_does_not_stop_training(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    process = subprocess.Popen(script("--data-dir", root, "--out-dir", tmp_path, *FAST, "--epochs", 2),
                               env={**headless_env(), "PYTHONUNBUFFERED": "1"}, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    for line in process.stdout:
        if line.startswith("Epoch:  0 | train loss"):
            break
    process.send_signal(signal.SIGHUP)      # what nohup is for: ignored
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0 and err == "", err
    assert load(tmp_path / "autoencoder.pt")["epoch"] == 2


def test_a_signal_after_the_last_step_stops_with_every_epoch_saved(synthetic_mnist, tmp_path,
                                                                     monkeypatch, capsys):
    root, _ = synthetic_mnist
    measure = ae.test

    def test_then_signal(*args, **kwargs):     # the signal comes while the last epoch is tested
        os.kill(os.getpid(), signal.SIGTERM)
        return measure(*args, **kwargs)
    monkeypatch.setattr(ae, "test", test_then_signal)
    with pytest.raises(SystemExit) as exit_info:
        ae.main(["--data-dir", str(root), "--out-dir", str(tmp_path), *map(str, FAST), "--epochs", "1"])
    assert exit_info.value.code == 143
    err = capsys.readouterr().err
    assert "Stopped after training: wrote " in err
    assert err.endswith(f"all 1 epochs are in {tmp_path / 'autoencoder.pt'}\n")
    assert load(tmp_path / "autoencoder.pt")["epoch"] == 1


MAKE_OPTIMIZER = ae.make_optimizer


def recording_rates(monkeypatch, stop_at=None):
    """The learning rate and Adam's beta1 that each training step of main() uses, appended to the
    returned list; with stop_at, a Ctrl-C arrives during that step (counted from 1)."""
    rates = []

    def make_recording(*args, **kwargs):
        optimizer = MAKE_OPTIMIZER(*args, **kwargs)
        step = optimizer.step

        def step_and_record(*step_args, **step_kwargs):
            group = optimizer.param_groups[0]
            rates.append((group["lr"], group["betas"][0]))
            if len(rates) == stop_at:
                os.kill(os.getpid(), signal.SIGINT)
            return step(*step_args, **step_kwargs)
        optimizer.step = step_and_record
        return optimizer
    monkeypatch.setattr(ae, "make_optimizer", make_recording)
    return rates


SCHEDULED = ["--batch-size", "250", "--schedule", "onecycle", "--lr", "0.002", "--loss", "bce",
             "--code-size", "2", "--activation", "elu", "--no-show", "--no-gif"]   # 8 steps an epoch


def test_an_interrupted_run_resumed_continues_its_schedule_step_by_step(synthetic_mnist, tmp_path,
                                                                       monkeypatch, capsys):
    root, _ = synthetic_mnist
    common = ["--data-dir", str(root), "--epochs", "3"]
    whole = recording_rates(monkeypatch)
    ae.main([*common, *SCHEDULED, "--out-dir", str(tmp_path / "whole")])
    assert len(whole) == 24 and len(set(whole)) == 24   # a new rate at every step

    stopped = recording_rates(monkeypatch, stop_at=13)      # in epoch 1, at its step 4
    with pytest.raises(SystemExit) as exit_info:
        ae.main([*common, *SCHEDULED, "--out-dir", str(tmp_path / "b")])
    assert exit_info.value.code == 130 and stopped == whole[:13]
    capsys.readouterr()
    # the README's way to go on: only --resume; the loss, schedule, rates and network come from it
    resumed = recording_rates(monkeypatch)
    checkpoint = tmp_path / "b" / "autoencoder.pt"
    ae.main(["--data-dir", str(root), "--no-show", "--no-gif", "--resume", str(checkpoint)])
    assert resumed == whole[8:]     # epoch 1 again from its first step, then epoch 2
    assert load(checkpoint)["epoch"] == 3       # in the checkpoint's folder, without --out-dir
    printed = capsys.readouterr().out
    assert f"Resuming from {checkpoint}: 1 of 3 epochs done, with its --code-size 2, --activation elu, " \
           "--loss bce, --schedule onecycle, --lr 0.002, --batch-size 250\n" in printed
    assert "instead of" not in printed and "AutoEncoder: 784-128-64-12-2-12-64-128-784, elu" in printed
    config = load(checkpoint)["config"]
    assert (config["loss"], config["schedule"], config["lr"], config["batch_size"], config["epochs"]) == (
        "bce", "onecycle", 0.002, 250, 3)


def test_more_epochs_after_a_finished_schedule_start_a_new_one(synthetic_mnist, tmp_path, monkeypatch,
                                                              capsys):
    root, _ = synthetic_mnist
    flags = ["--data-dir", str(root), "--out-dir", str(tmp_path), *SCHEDULED]
    first = recording_rates(monkeypatch)
    ae.main([*flags, "--epochs", "2"])
    assert first[-1][0] == pytest.approx(0.002 / 25 / 1e4)      # the schedule's end, near 0
    capsys.readouterr()
    more = recording_rates(monkeypatch)
    ae.main([*flags, "--epochs", "3", "--resume", str(tmp_path / "autoencoder.pt")])
    assert ("  its onecycle schedule ended with epoch 2: a new one runs over epochs 2 to 2, from "
            "the start (peak --lr 0.002)\n") in capsys.readouterr().out
    fresh = ae.Schedule(torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))]), "onecycle", 0.002, 8)
    assert more == [fresh.rates(step) for step in range(8)]
    assert load(tmp_path / "autoencoder.pt")["config"]["schedule_start"] == 2
    ae.main([*flags, "--epochs", "4", "--resume", str(tmp_path / "autoencoder.pt")])     # and again
    assert load(tmp_path / "autoencoder.pt")["config"]["schedule_start"] == 3


def test_resume_honours_training_flags_given_again_and_refuses_another_loss(synthetic_mnist, tmp_path,
                                                                           monkeypatch, capsys):
    root, _ = synthetic_mnist
    flags = ["--data-dir", str(root), "--out-dir", str(tmp_path), *SCHEDULED]
    recording_rates(monkeypatch, stop_at=3)
    with pytest.raises(SystemExit):
        ae.main([*flags, "--epochs", "3"])      # stopped in epoch 0 of a 3-epoch schedule
    path = str(tmp_path / "autoencoder.pt")
    for argv, says in [(["--loss", "mse"], "was trained with --loss bce but this run has --loss mse: "
                                           "use the same flags, or leave them out"),
                       (["--schedule", "cosine"], "--schedule onecycle but this run has --schedule cosine"),
                       (["--epochs", "5"], f"error: {path} stopped in epoch 0 of its onecycle schedule "
                                           "over 3 epochs: resume it without --epochs (or with --epochs "
                                           "3), then ask for more")]:
        with pytest.raises(SystemExit) as exit_info:
            ae.parse_args(["--resume", path, *argv])
        assert says in str(exit_info.value.code), argv
    capsys.readouterr()
    rates = recording_rates(monkeypatch)
    ae.main(["--data-dir", str(root), "--out-dir", str(tmp_path), "--no-show", "--no-gif",
             "--resume", path, "--lr", "0.001", "--batch-size", "500"])
    printed = capsys.readouterr().out
    assert "  --lr 0.001 instead of the checkpoint's 0.002\n" in printed
    assert "  --batch-size 500 instead of the checkpoint's 250\n" in printed
    fresh = ae.Schedule(torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))]), "onecycle", 0.001, 12)
    assert rates == [fresh.rates(step) for step in range(12)]   # 4 steps an epoch, 3 epochs
