"""Optimizer, loss and training: the loss falls, the live figure follows, Adam (fused) with its
weight decay."""
import torch

import autoencoder as ae
from conftest import synthetic_images, train_epochs


def test_loss_goes_down_on_a_fixed_batch(synthetic_mnist):
    torch.manual_seed(0)
    images = synthetic_images(synthetic_mnist)[:64]
    history = train_epochs(images, epochs=60, batch_size=64)   # one step per epoch
    losses = [entry["loss"] for entry in history["train_losses"]]
    assert len(losses) == 60
    assert losses[-1] < 0.5 * losses[0]


def test_train_updates_the_live_figure(synthetic_mnist):
    torch.manual_seed(0)
    images = synthetic_images(synthetic_mnist)
    model = ae.AutoEncoder()
    figure = ae.LiveFigure(images[:3], show=None)
    assert all(im.get_array().max() == 0 for im in figure.recon)     # blank before training
    history = train_epochs(images, epochs=1, batch_size=16, figure=figure, model=model)
    last = history["train_losses"][-1]
    assert figure.title.get_text() == f"epoch 0, step 100: loss {last['loss']:.4f}"

    figure.update(model, "now")
    with torch.no_grad():
        expected = model(images[:3])[1].view(-1, 28, 28)
    for im, want in zip(figure.recon, expected):
        assert torch.allclose(torch.as_tensor(im.get_array()), want)
    ae.plt.close(figure.fig)


def test_the_optimizer_is_the_tutorials_adam_fused():
    model = ae.AutoEncoder()
    optimizer = ae.make_optimizer(model, 0.005)
    assert isinstance(optimizer, torch.optim.Adam)
    group = optimizer.param_groups[0]
    assert group["lr"] == 0.005 and group["fused"] and len(group["params"]) == 16


def test_weight_decay_is_adams_l2_penalty():
    model = ae.AutoEncoder()
    assert ae.make_optimizer(model, 0.005).param_groups[0]["weight_decay"] == 0
    optimizer = ae.make_optimizer(model, 0.005, weight_decay=0.001)
    assert optimizer.param_groups[0]["weight_decay"] == 0.001
    with torch.no_grad():       # with zero gradients, only the penalty moves the weights: to 0
        before = [p.abs().sum().item() for p in model.parameters()]
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    after = [p.abs().sum().item() for p in model.parameters()]
    assert all(a < b for a, b in zip(after, before) if b > 0)
