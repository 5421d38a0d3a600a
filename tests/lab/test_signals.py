"""Stop signals (lab/signals.py): Ctrl-C, SIGTERM and SIGHUP sent to a real process save
everything and exit 128 + N; a second one quits at once; nohup's ignored SIGHUP stays ignored."""
import io
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

import autoencoder as ae
from conftest import headless_env, run_script, script, start_script
from lab import errors, measures, signals

FAST = ("--batch-size", 16, "--no-show", "--no-gif")   # synthetic data: 125 steps per epoch


def run(root, out, *flags):
    return run_script("--data-dir", root, "--out-dir", out, *FAST, *flags)


def load(path):
    return torch.load(path, weights_only=True)


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
    measure = measures.test_loss

    def test_then_signal(*args, **kwargs):     # the signal comes while the last epoch is tested
        os.kill(os.getpid(), signal.SIGTERM)
        return measure(*args, **kwargs)
    monkeypatch.setattr(measures, "test_loss", test_then_signal)     # lab.results calls measures.test_loss
    with pytest.raises(SystemExit) as exit_info:
        ae.main(["--data-dir", str(root), "--out-dir", str(tmp_path), *map(str, FAST), "--epochs", "1"])
    assert exit_info.value.code == 143
    err = capsys.readouterr().err
    assert "Stopped after training: wrote " in err
    assert err.endswith(f"all 1 epochs are in {tmp_path / 'autoencoder.pt'}\n")
    assert load(tmp_path / "autoencoder.pt")["epoch"] == 1


def test_a_closed_terminal_silences_the_run_until_it_ends_then_the_streams_come_back():
    class ClosedTerminal(io.StringIO):
        def write(self, text):
            raise OSError(5, "Input/output error")
    streams = sys.stdout, sys.stderr
    with signals.StopOnCtrlC():
        sys.stderr = ClosedTerminal()
        errors.say("Ctrl-C: ...")           # no error: from here on, nothing is printed
        assert sys.stdout.name == os.devnull
    assert (sys.stdout, sys.stderr) == streams
