"""Progress: the log lines, the checks that the loss stays a number, where the time goes."""
import re

import pytest
import torch

import autoencoder as ae
from conftest import LOSS_LINE, synthetic_images, train_epochs


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
    log = ae.TrainingLog(3, images, 64, {"train_losses": [], "epoch_seconds": []})
    log.keep(0, torch.tensor(0.1))
    with torch.no_grad():
        model.decoder[0].weight[0, 0] = float("inf")
    with pytest.raises(FloatingPointError, match="a weight stopped being a finite number in epoch 3"):
        log.finish(model, 0, None)


def test_the_clock_adds_each_laps_seconds_to_its_name(monkeypatch):
    now = iter([10.0, 11.5, 12.0, 14.0])
    monkeypatch.setattr(ae.time, "perf_counter", lambda: next(now))
    clock = ae.Clock()              # 10.0
    clock.lap("training")           # 1.5 s
    clock.lap("pictures")           # 0.5 s
    clock.lap("training")           # 2.0 s more
    assert clock.seconds == {"training": 3.5, "pictures": 0.5}
    assert str(clock) == "4.0 s (0.1 min) since main() started: training 3.5 s | pictures 0.5 s"
