"""The loss and the learning rate's schedule: --loss bce and --schedule, against torch's own."""
import math

import pytest
import torch

import autoencoder as ae
from conftest import synthetic_images, train_epochs


def adam():
    return torch.optim.Adam([torch.nn.Parameter(torch.zeros(3))], lr=0.004)


def rates(optimizer):
    group = optimizer.param_groups[0]
    return group["lr"], group["betas"][0]


@pytest.mark.parametrize("total", [100, 469 * 3])
def test_onecycle_gives_the_rates_of_torchs_one_cycle_lr(total):
    ours, theirs = adam(), adam()
    schedule = ae.Schedule(ours, "onecycle", 0.004, total)
    reference = torch.optim.lr_scheduler.OneCycleLR(theirs, max_lr=0.004, total_steps=total)
    for step in range(total):
        assert rates(ours) == pytest.approx(rates(theirs), rel=1e-9, abs=1e-15), step
        theirs.step()
        reference.step()
        schedule.step()
    assert rates(ours)[0] == pytest.approx(0.004 / 25 / 1e4)     # the last step's, held after it


def test_cosine_gives_the_rates_of_torchs_cosine_annealing_lr():
    ours, theirs = adam(), adam()
    schedule = ae.Schedule(ours, "cosine", 0.004, 300)
    reference = torch.optim.lr_scheduler.CosineAnnealingLR(theirs, T_max=300)
    for step in range(300):
        assert rates(ours) == pytest.approx(rates(theirs), rel=1e-9, abs=1e-15), step
        theirs.step()
        reference.step()
        schedule.step()
    assert rates(ours)[0] == pytest.approx(0, abs=1e-15) and rates(ours)[1] == 0.9   # beta1 untouched


def test_the_schedule_at_chosen_steps():
    optimizer = adam()
    schedule = ae.Schedule(optimizer, "onecycle", 0.004, 1000)
    assert schedule.rates(0) == pytest.approx((0.004 / 25, 0.95))
    assert schedule.rates(299) == pytest.approx((0.004, 0.85))     # the peak, 30 % in
    middle = schedule.rates(299 + 350)
    assert middle == pytest.approx((0.004 / 2 * (1 + 1 / 25e4), 0.9), rel=1e-3)
    assert ae.Schedule(optimizer, "cosine", 0.004, 1000).rates(500)[0] == pytest.approx(0.002)


def test_resumed_schedules_pick_up_where_they_stopped():
    whole, resumed = adam(), adam()
    schedule = ae.Schedule(whole, "onecycle", 0.01, 90)
    for _ in range(30):
        schedule.step()
    ae.Schedule(resumed, "onecycle", 0.01, 90, done=30)
    assert rates(resumed) == rates(whole)


def test_training_steps_the_schedule_from_the_epochs_place_in_the_run(synthetic_mnist):
    torch.manual_seed(0)
    images = synthetic_images(synthetic_mnist)[:640]         # 10 steps of 64 per epoch
    args = ae.parse_args(["--schedule", "cosine", "--epochs", "4", "--lr", "0.002"])
    model = ae.AutoEncoder()
    optimizer = ae.make_optimizer(model, args.lr)
    history = {"train_losses": [], "epoch_seconds": []}
    ae.train(args, model, optimizer, images, 1, history)     # epoch 1 of 4: steps 10 to 19, as after --resume
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.002 * 0.5 * (1 + math.cos(math.pi * 20 / 40)))


def test_the_defaults_are_the_tutorials_mean_squared_error_at_a_constant_rate():
    args = ae.parse_args([])
    assert (args.loss, args.schedule) == ("mse", "constant") == (ae.LOSS, ae.SCHEDULE)
    optimizer = adam()
    scheduler = ae.make_scheduler(args, optimizer, 0, 60000)
    for _ in range(3):
        scheduler.step()
        assert rates(optimizer) == (args.lr, 0.9)       # --lr at every step, Adam's own beta1
    assert ae.training_loss(args, ae.AutoEncoder()) is ae.loss_func


def test_bce_is_torchs_binary_cross_entropy_and_trains(synthetic_mnist):
    torch.manual_seed(0)
    decoded, images = torch.rand(8, 784) * 0.98 + 0.01, torch.rand(8, 784)
    loss = ae.training_loss(ae.parse_args(["--loss", "bce"]), ae.AutoEncoder())
    assert loss(decoded, images).item() == pytest.approx(
        torch.nn.functional.binary_cross_entropy(decoded, images).item(), rel=1e-6)
    by_hand = -(images * decoded.log() + (1 - images) * (1 - decoded).log()).mean()
    assert loss(decoded, images).item() == pytest.approx(by_hand.item(), rel=1e-5)
    history = train_epochs(synthetic_images(synthetic_mnist)[:64], epochs=60, batch_size=64,
                           flags=["--loss", "bce"])
    losses = [entry["loss"] for entry in history["train_losses"]]
    assert losses[-1] < 0.8 * losses[0]


def test_a_vae_adds_its_kl_term_to_the_cross_entropy():
    torch.manual_seed(0)
    model, x = ae.VariationalAutoEncoder(), torch.rand(4, 784)
    _, decoded = model(x)
    loss = ae.training_loss(ae.parse_args(["--variational", "--loss", "bce", "--kl-weight", "0.5"]), model)
    expected = torch.nn.functional.binary_cross_entropy(decoded, x) + 0.5 * model.kl
    assert loss(decoded, x).item() == pytest.approx(expected.item(), rel=1e-6)
