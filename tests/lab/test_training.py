"""Training's bookkeeping beside the lesson's loop (lab/training.py): the loss it minimises (--loss
bce, against torch's own), the learning rate's schedule (against torch's own schedulers), the log
lines, a loss or weight that stops being a number, divergence in one line, and the clock."""
import math
import re

import pytest
import torch

import autoencoder as ae
from conftest import LOSS_LINE, run_script, synthetic_images, train_epochs
from lab import training


def run(root, out, *flags):
    return run_script("--data-dir", root, "--out-dir", out, "--batch-size", 16, "--no-show", "--no-gif",
                      *flags)


def adam():
    return torch.optim.Adam([torch.nn.Parameter(torch.zeros(3))], lr=0.004)


def rates(optimizer):
    group = optimizer.param_groups[0]
    return group["lr"], group["betas"][0]


@pytest.mark.parametrize("total", [100, 469 * 3])
def test_onecycle_gives_the_rates_of_torchs_one_cycle_lr(total):
    ours, theirs = adam(), adam()
    schedule = training.Schedule(ours, "onecycle", 0.004, total)
    reference = torch.optim.lr_scheduler.OneCycleLR(theirs, max_lr=0.004, total_steps=total)
    for step in range(total):
        assert rates(ours) == pytest.approx(rates(theirs), rel=1e-9, abs=1e-15), step
        theirs.step()
        reference.step()
        schedule.step()
    assert rates(ours)[0] == pytest.approx(0.004 / 25 / 1e4)     # the last step's, held after it


def test_cosine_gives_the_rates_of_torchs_cosine_annealing_lr():
    ours, theirs = adam(), adam()
    schedule = training.Schedule(ours, "cosine", 0.004, 300)
    reference = torch.optim.lr_scheduler.CosineAnnealingLR(theirs, T_max=300)
    for step in range(300):
        assert rates(ours) == pytest.approx(rates(theirs), rel=1e-9, abs=1e-15), step
        theirs.step()
        reference.step()
        schedule.step()
    assert rates(ours)[0] == pytest.approx(0, abs=1e-15) and rates(ours)[1] == 0.9   # beta1 untouched


def test_the_schedule_at_chosen_steps():
    optimizer = adam()
    schedule = training.Schedule(optimizer, "onecycle", 0.004, 1000)
    assert schedule.rates(0) == pytest.approx((0.004 / 25, 0.95))
    assert schedule.rates(299) == pytest.approx((0.004, 0.85))     # the peak, 30 % in
    middle = schedule.rates(299 + 350)
    assert middle == pytest.approx((0.004 / 2 * (1 + 1 / 25e4), 0.9), rel=1e-3)
    assert training.Schedule(optimizer, "cosine", 0.004, 1000).rates(500)[0] == pytest.approx(0.002)


def test_resumed_schedules_pick_up_where_they_stopped():
    whole, resumed = adam(), adam()
    schedule = training.Schedule(whole, "onecycle", 0.01, 90)
    for _ in range(30):
        schedule.step()
    training.Schedule(resumed, "onecycle", 0.01, 90, done=30)
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
    scheduler = training.make_scheduler(args, optimizer, 0, 60000)
    for _ in range(3):
        scheduler.step()
        assert rates(optimizer) == (args.lr, 0.9)       # --lr at every step, Adam's own beta1
    # the lesson's loss_func alone: nothing added to what it returns, no other loss in its place
    marker = object()
    assert training.training_loss(args, ae.AutoEncoder(), lambda decoded, b_y: marker)(
        torch.rand(2, 784), torch.rand(2, 784)) is marker
    decoded, images = torch.rand(4, 784), torch.rand(4, 784)
    assert torch.equal(training.training_loss(args, ae.AutoEncoder(), ae.loss_func)(decoded, images),
                       ae.loss_func(decoded, images))


def test_bce_is_torchs_binary_cross_entropy_and_trains(synthetic_mnist):
    torch.manual_seed(0)
    decoded, images = torch.rand(8, 784) * 0.98 + 0.01, torch.rand(8, 784)
    loss = training.training_loss(ae.parse_args(["--loss", "bce"]), ae.AutoEncoder(), ae.loss_func)
    assert loss(decoded, images).item() == pytest.approx(
        torch.nn.functional.binary_cross_entropy(decoded, images).item(), rel=1e-6)
    by_hand = -(images * decoded.log() + (1 - images) * (1 - decoded).log()).mean()
    assert loss(decoded, images).item() == pytest.approx(by_hand.item(), rel=1e-5)
    history = train_epochs(synthetic_images(synthetic_mnist)[:64], epochs=60, batch_size=64,
                           flags=["--loss", "bce"])
    losses = [entry["loss"] for entry in history["train_losses"]]
    assert losses[-1] < 0.8 * losses[0]


def test_train_logs_every_100_steps_and_times_every_epoch(synthetic_mnist, capsys):
    torch.manual_seed(0)
    images = synthetic_images(synthetic_mnist)     # 2000 images, 125 steps of 16
    history = train_epochs(images, epochs=2, batch_size=16)
    out = capsys.readouterr().out
    logged = [(e["epoch"], e["step"]) for e in history["train_losses"]]
    assert logged == [(0, 0), (0, 100), (1, 0), (1, 100)]
    printed = [(int(epoch), float(loss)) for epoch, loss in LOSS_LINE.findall(out)]
    assert printed == [(e["epoch"], round(e["loss"], 4)) for e in history["train_losses"]]
    assert len(history["epoch_seconds"]) == 2 and all(s > 0 for s in history["epoch_seconds"])
    assert len(re.findall(r"^Epoch \d took [\d.]+ s", out, re.M)) == 2


def test_train_names_the_epoch_and_step_where_the_loss_stopped_being_finite(synthetic_mnist):
    images = synthetic_images(synthetic_mnist)
    images[7] = float("nan")                # one bad image: its batch's loss is nan
    model = ae.AutoEncoder()
    with pytest.raises(FloatingPointError, match=r"the loss became nan in epoch 4, step \d+"):
        ae.train(ae.parse_args([]), model, ae.make_optimizer(model, 0.005), images, 4,
                 {"train_losses": [], "epoch_seconds": []})


def test_a_weight_that_stops_being_a_number_is_named_with_its_epoch(synthetic_mnist):
    images = synthetic_images(synthetic_mnist)[:64]
    model = ae.AutoEncoder()
    log = training.TrainingLog(3, images, 64, {"train_losses": [], "epoch_seconds": []})
    log.keep(0, torch.tensor(0.1))
    with torch.no_grad():
        model.decoder[0].weight[0, 0] = float("inf")
    with pytest.raises(FloatingPointError, match="a weight stopped being a finite number in epoch 3"):
        log.finish(model, 0, None)


def test_the_clock_adds_each_laps_seconds_to_its_name(monkeypatch):
    now = iter([10.0, 11.5, 12.0, 14.0])
    monkeypatch.setattr(training.time, "perf_counter", lambda: next(now))
    clock = training.Clock()        # 10.0
    clock.lap("training")           # 1.5 s
    clock.lap("pictures")           # 0.5 s
    clock.lap("training")           # 2.0 s more
    assert clock.seconds == {"training": 3.5, "pictures": 0.5}
    assert str(clock) == "4.0 s (0.1 min) since main() started: training 3.5 s | pictures 0.5 s"


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
