"""--resume (lab/resume.py, and the checkpoint's flags in lab/cli.py): counting on from a
checkpoint, refusing one that does not fit or is none, and a schedule continued step by step."""
import json
import os
import signal

import pytest
import torch

import autoencoder as ae
from conftest import LOSS_LINE, run_script
from lab import checkpoints, errors, kinds, resume, training

FAST = ("--batch-size", 16, "--no-show", "--no-gif")   # synthetic data: 125 steps per epoch


def run(root, out, *flags):
    return run_script("--data-dir", root, "--out-dir", out, *FAST, *flags)


def load(path):
    return torch.load(path, weights_only=True)


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
    model = kinds.build(args, ae.AutoEncoder)
    optimizer = ae.make_optimizer(model, args.lr)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("log_var")}
    state["encoder.6.weight"], state["encoder.6.bias"] = torch.zeros(6, 12), torch.zeros(6)
    path = tmp_path / "autoencoder.pt"
    torch.save({"model": state, "optimizer": optimizer.state_dict(), "epoch": 1, "config": vars(args),
                "history": checkpoints.new_history()}, path)
    args.resume = str(path)     # what --resume gives; resume.resume reads the path from it
    with pytest.raises(errors.UserError) as error:
        resume.resume(args, model, optimizer, ae.hyperparameters())
    assert error.value.status == 1
    assert error.value.message == (f"error: {path} holds a model of another layout (an older "
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
    with pytest.raises(errors.UserError) as error:
        ae.parse_args(["--resume", str(path)])
    assert error.value.status == 1 and "\n" not in error.value.message
    assert error.value.message.startswith(f"error: --resume {path} is not a checkpoint of "
                                          "autoencoder.py (")


MAKE_OPTIMIZER = ae.make_optimizer

SCHEDULED = ["--batch-size", "250", "--schedule", "onecycle", "--lr", "0.002", "--loss", "bce",
             "--code-size", "2", "--activation", "elu", "--no-show", "--no-gif"]   # 8 steps an epoch


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


def test_an_interrupted_run_resumed_continues_its_schedule_step_by_step(synthetic_mnist, tmp_path,
                                                                       monkeypatch, capsys,
                                                                       ctrl_c_as_in_a_terminal):
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
    # the kept flags as cli.kept() lists them: the model's in --help's order, then the training's
    assert f"Resuming from {checkpoint}: 1 of 3 epochs done, with its --loss bce, --schedule onecycle, " \
           "--code-size 2, --activation elu, --batch-size 250, --lr 0.002\n" in printed
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
    fresh = training.Schedule(torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))]), "onecycle", 0.002, 8)
    assert more == [fresh.rates(step) for step in range(8)]
    assert load(tmp_path / "autoencoder.pt")["config"]["schedule_start"] == 2
    ae.main([*flags, "--epochs", "4", "--resume", str(tmp_path / "autoencoder.pt")])     # and again
    assert load(tmp_path / "autoencoder.pt")["config"]["schedule_start"] == 3


def test_resume_honours_training_flags_given_again_and_refuses_another_loss(synthetic_mnist, tmp_path,
                                                                           monkeypatch, capsys,
                                                                           ctrl_c_as_in_a_terminal):
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
        with pytest.raises(errors.UserError) as error:
            ae.parse_args(["--resume", path, *argv])
        assert error.value.status == 1 and says in error.value.message, argv
    capsys.readouterr()
    rates = recording_rates(monkeypatch)
    ae.main(["--data-dir", str(root), "--out-dir", str(tmp_path), "--no-show", "--no-gif",
             "--resume", path, "--lr", "0.001", "--batch-size", "500"])
    printed = capsys.readouterr().out
    assert "  --lr 0.001 instead of the checkpoint's 0.002\n" in printed
    assert "  --batch-size 500 instead of the checkpoint's 250\n" in printed
    fresh = training.Schedule(torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))]), "onecycle", 0.001, 12)
    assert rates == [fresh.rates(step) for step in range(12)]   # 4 steps an epoch, 3 epochs
