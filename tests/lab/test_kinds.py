"""The kinds of autoencoder beside the tutorial's model (lab/kinds/__init__.py): flags that build
them, each one learning and running end to end; the training loop asking a kind for its loss
terms. Each kind's own tests are in test_kinds_<kind>.py."""
import argparse
import copy
import json

import pytest
import torch

import autoencoder as ae
from autoencoder import AutoEncoder
from conftest import run_script, synthetic_images, train_epochs
from lab import kinds
from lab.kinds import tied, vae


def test_the_variants_are_flags_and_a_vae_gets_its_own_learning_rate():
    args = ae.parse_args(["--noise", "0.2", "--dropout", "0.1", "--variational", "--kl-weight", "0",
                          "--tied"])
    assert (args.noise, args.dropout, args.variational, args.kl_weight, args.tied) == (
        0.2, 0.1, True, 0.0, True)
    assert args.lr == vae.LR == 0.001
    assert ae.parse_args(["--variational", "--lr", "0.01"]).lr == 0.01


@pytest.mark.parametrize("flags, kind, n_tied", [
    ([], AutoEncoder, 0), (["--variational"], vae.VariationalAutoEncoder, 0), (["--tied"], AutoEncoder, 4),
    (["--variational", "--tied"], vae.VariationalAutoEncoder, 4)])
def test_the_flags_build_the_tutorials_model_or_a_variant_beside_it(flags, kind, n_tied, capsys):
    model = kinds.build(ae.parse_args(flags), ae.AutoEncoder)
    assert type(model) is kind
    assert sum(isinstance(m, tied.TiedLinear) for m in model.decoder) == n_tied
    assert capsys.readouterr().out.startswith(f"{kind.__name__}: 784-128-64-12-3-12-64-128-784, tanh, ")


@pytest.mark.parametrize("flags", [["--noise", "0.3"], ["--dropout", "0.2"], ["--variational"],
                                   ["--tied"], ["--variational", "--tied"]])
def test_each_variant_learns(synthetic_mnist, flags):
    torch.manual_seed(0)
    images = synthetic_images(synthetic_mnist)[:64]
    history = train_epochs(images, epochs=100, batch_size=64, flags=flags)
    losses = [entry["loss"] for entry in history["train_losses"]]
    assert sum(losses[-10:]) < 0.6 * sum(losses[:10])     # noisy variants: compare averages


@pytest.mark.parametrize("variant", [["--noise", "0.2", "--dropout", "0.1"], ["--variational", "--tied"]])
def test_a_variant_runs_end_to_end(synthetic_mnist, tmp_path, variant):
    root, _ = synthetic_mnist
    result = run_script("--epochs", 1, "--data-dir", root, "--out-dir", tmp_path, "--no-show",
                        "--no-gif", *variant)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["variational"] == ("--variational" in variant)
    # the test loss recomputed from the saved model, in float64, one image at a time: for a VAE
    # the code's mean, without a random draw
    checkpoint = torch.load(tmp_path / "autoencoder.pt", weights_only=True)
    model = kinds.build(argparse.Namespace(**checkpoint["config"]), ae.AutoEncoder)
    model.load_state_dict(checkpoint["model"])
    model.eval()
    test_images = ae.to_float_images(torch.from_numpy(synthetic_mnist[1][False][0]), torch.device("cpu"))
    with torch.no_grad():
        expected = sum(((model(x[None])[1][0].double() - x.double()) ** 2).mean().item()
                       for x in test_images) / len(test_images)
    assert metrics["final_test_loss"] == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("variant", [["--variational"], ["--tied"], ["--noise", "0.2"],
                                     ["--dropout", "0.2"]])
def test_each_variant_runs_with_another_code_size(synthetic_mnist, tmp_path, variant):
    root, _ = synthetic_mnist
    result = run_script("--epochs", 1, "--code-size", 5, "--hidden", "64", "--activation", "relu",
                        "--data-dir", root, "--out-dir", tmp_path, "--no-show", "--no-gif", *variant)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert (tmp_path / "latent_3d.png").exists() and "PCA, 5 components" in result.stdout
    assert "AutoEncoder: 784-64-5-64-784, relu" in result.stdout


def test_train_makes_the_noisy_input_and_adds_the_vaes_kl_term(synthetic_mnist):
    images = synthetic_images(synthetic_mnist)[:64]
    args = ae.parse_args(["--variational", "--kl-weight", "10", "--noise", "0.2", "--batch-size", "64"])
    torch.manual_seed(0)
    model = kinds.build(args, ae.AutoEncoder)   # the VAE, with --kl-weight's 10 as its own weight
    assert isinstance(model, vae.VariationalAutoEncoder) and model.kl_weight == 10
    start = copy.deepcopy(model.state_dict())
    history = {"train_losses": [], "epoch_seconds": []}
    torch.manual_seed(1)
    ae.train(args, model, ae.make_optimizer(model, args.lr), images, 0, history)
    model.load_state_dict(start)        # the same first step, by hand
    model.train()
    torch.manual_seed(1)
    b_y = images[torch.randperm(64)]
    b_x = (b_y + 0.2 * torch.randn_like(b_y)).clamp(0, 1)
    _, decoded = model(b_x)
    expected = ((decoded - b_y) ** 2).mean() + 10 * model.kl
    assert history["train_losses"][0]["loss"] == pytest.approx(expected.item(), rel=1e-5)
