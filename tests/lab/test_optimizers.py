"""--optimizer (lab/optimizers.py): Adam by default, as the tutorial; Adadelta and SGD with momentum
with their sources' settings; the recipes that quote numbers trained with another optimizer use it."""
import pytest
import torch

import autoencoder as ae
from conftest import run_script, synthetic_images, train_epochs
from lab import kinds, training
from lab.recipes import RECIPES


def optimizer_of(*argv):
    args = ae.parse_args([*argv, "--device", "cpu"])
    model = kinds.build(args, ae.AutoEncoder)
    return args, ae.make_optimizer(model, args.lr, args.weight_decay, args.optimizer)


def test_the_default_is_the_tutorials_adam_unchanged(capsys):
    args, optimizer = optimizer_of()
    assert args.optimizer == "adam" and type(optimizer) is torch.optim.Adam
    assert optimizer.defaults["lr"] == ae.LR == 0.005 and optimizer.defaults["fused"]
    assert args.out_dir.endswith("tutorial")        # the default run keeps its folder's name


def test_adadelta_has_keras_settings_and_its_default_rate_is_keras_one(capsys):
    args, optimizer = optimizer_of("--optimizer", "adadelta")
    assert type(optimizer) is torch.optim.Adadelta
    assert (optimizer.defaults["lr"], optimizer.defaults["rho"], optimizer.defaults["eps"]) == (1.0, 0.95, 1e-6)
    assert args.out_dir.endswith("optimizer-adadelta")
    # the rate given wins over the optimizer's default, and weight decay reaches it
    _, optimizer = optimizer_of("--optimizer", "adadelta", "--lr", "0.5", "--weight-decay", "0.01")
    assert (optimizer.defaults["lr"], optimizer.defaults["weight_decay"]) == (0.5, 0.01)


def test_sgd_has_momentum_0_9_and_a_rate_of_0_1(capsys):
    args, optimizer = optimizer_of("--optimizer", "sgd")
    assert type(optimizer) is torch.optim.SGD
    assert (optimizer.defaults["lr"], optimizer.defaults["momentum"], optimizer.defaults["nesterov"]) == (
        0.1, 0.9, False)
    # an optimizer's own rate comes before a kind's (--variational's 0.001)
    assert ae.parse_args(["--optimizer", "sgd", "--variational"]).lr == 0.1


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")
def test_onecycle_moves_sgds_momentum_as_torchs_one_cycle_lr_and_leaves_adadelta_alone():
    weight = torch.nn.Parameter(torch.zeros(3))
    sgd = torch.optim.SGD([weight], lr=0.1, momentum=0.9)
    reference = torch.optim.SGD([torch.nn.Parameter(torch.zeros(3))], lr=0.1, momentum=0.9)
    torch_schedule = torch.optim.lr_scheduler.OneCycleLR(reference, max_lr=0.1, total_steps=50)
    ours = training.Schedule(sgd, "onecycle", 0.1, 50)
    for _ in range(49):
        mine, theirs = sgd.param_groups[0], reference.param_groups[0]
        assert mine["lr"] == pytest.approx(theirs["lr"]) and mine["momentum"] == pytest.approx(theirs["momentum"])
        ours.step()
        torch_schedule.step()
    adadelta = torch.optim.Adadelta([weight])
    schedule = training.Schedule(adadelta, "onecycle", 1.0, 50)     # no betas, no momentum: no error
    schedule.step()
    assert adadelta.param_groups[0]["lr"] == pytest.approx(torch_schedule_lr_at(1, 1.0, 50))
    assert set(adadelta.param_groups[0]) >= {"rho", "eps"} and "momentum" not in adadelta.param_groups[0]


def torch_schedule_lr_at(step, lr, total):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr, momentum=0.9)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total)
    for _ in range(step):
        schedule.step()
    return optimizer.param_groups[0]["lr"]


@pytest.mark.parametrize("name", ["adadelta", "sgd"])
def test_each_optimizer_trains(synthetic_mnist, name):
    torch.manual_seed(0)
    images = synthetic_images(synthetic_mnist)[:64]
    history = train_epochs(images, epochs=100, batch_size=64, flags=["--optimizer", name])
    losses = [entry["loss"] for entry in history["train_losses"]]
    assert sum(losses[-10:]) < 0.8 * sum(losses[:10])     # slower than Adam on the tanh network


def test_the_keras_blogs_recipes_train_with_its_adadelta_and_glorots_weights():
    for name in ("keras-conv", "keras-denoising-conv", "keras-sparse"):
        assert {k: RECIPES[name][1][k] for k in ("optimizer", "lr", "init")} == {
            "optimizer": "adadelta", "lr": 1.0, "init": "glorot"}
        assert "Adadelta" in RECIPES[name][0] and "Glorot" in RECIPES[name][0]
    assert "afresh each batch" in RECIPES["keras-denoising-conv"][0]    # the blog's noise is fixed
    assert all(RECIPES[name][1].get("optimizer", "adam") == "adam"
               for name in RECIPES if not name.startswith("keras"))


def test_a_checkpoint_keeps_its_optimizer_and_resume_refuses_another(synthetic_mnist, tmp_path):

    root, _ = synthetic_mnist
    out = tmp_path / "run"
    result = run_script("--data-dir", root, "--out-dir", out, "--batch-size", 64, "--no-show", "--no-gif",
                        "--epochs", 1, "--optimizer", "sgd", "--hidden", "16", "--code-size", 2)
    assert result.returncode == 0, result.stderr
    again = run_script("--resume", out / "autoencoder.pt", "--data-dir", root, "--no-show", "--no-gif",
                       "--epochs", 2, "--optimizer", "adam")
    assert again.returncode != 0 and "Traceback" not in again.stderr
    assert "--optimizer sgd" in again.stderr and "--optimizer adam" in again.stderr
    resumed = run_script("--resume", out / "autoencoder.pt", "--data-dir", root, "--no-show", "--no-gif",
                         "--epochs", 2)
    assert resumed.returncode == 0, resumed.stderr      # the checkpoint's SGD and its momentum go on
    state = torch.load(out / "autoencoder.pt", weights_only=False)
    assert state["config"]["optimizer"] == "sgd" and state["config"]["lr"] == 0.1
