"""Sparse and contractive autoencoders (lab/kinds/penalties.py): their penalties by hand and
against torch's Jacobian, added to the loss in training; one headless epoch of each penalized kind
(and the adversarial one) with its measure; bad values and combinations in one line."""
import json

import pytest
import torch
from torch import nn

import autoencoder as ae
from conftest import run_script
from lab import evaluation, kinds, training
from lab.kinds import penalties


def build(*argv):
    return kinds.build(ae.parse_args([*argv, "--device", "cpu"]), ae.AutoEncoder)


def test_the_sparsity_penalty_is_the_sum_of_absolute_codes_per_image_by_hand():
    encoded = torch.tensor([[1.0, -2.0, 0.0], [0.5, 0.5, -3.0]])
    assert penalties.sparsity_penalty(encoded).item() == pytest.approx(((1 + 2 + 0) + (0.5 + 0.5 + 3)) / 2)
    torch.manual_seed(0)
    model, x = build("--sparsity", "0.01"), torch.rand(4, 784)
    model.train()
    encoded, _ = model(x)
    assert model.penalty.item() == pytest.approx(0.01 * encoded.abs().sum(1).mean().item(), rel=1e-6)


@pytest.mark.parametrize("code_size", [1, 3, 10])
@pytest.mark.parametrize("hidden", ["", "16,8"])
def test_the_contractive_penalty_is_the_exact_jacobian_of_torch(code_size, hidden):
    torch.manual_seed(0)
    model = build("--contractive", "0.5", "--hidden", hidden, "--code-size", str(code_size))
    x = torch.rand(3, 784)
    expected = torch.stack([
        torch.autograd.functional.jacobian(model.encoder, image[None])[0, :, 0].pow(2).sum()
        for image in x])   # (code, 784) per image
    model.train()
    model(x)
    assert model.penalty.item() == pytest.approx(0.5 * expected.mean().item(), rel=1e-5)
    assert torch.allclose(evaluation.jacobian_norms(model, x), expected.sqrt(), rtol=1e-5)
    model.penalty.backward()    # the penalty trains the weights: it has gradients
    assert model.encoder[0].weight.grad.abs().sum() > 0


def test_the_contractive_penalty_of_a_conv_encoder_is_exact_too():
    torch.manual_seed(0)
    model = build("--conv", "--channels", "2,2", "--hidden", "8", "--contractive", "1")
    x = torch.rand(2, 784)
    expected = torch.stack([torch.autograd.functional.jacobian(model.encoder, image[None]).pow(2).sum()
                            for image in x])
    assert torch.allclose(evaluation.jacobian_norms(model, x).pow(2), expected, rtol=1e-5)


def test_a_penalized_model_is_the_plain_one_out_of_training_and_its_loss_adds_the_penalty():
    torch.manual_seed(0)
    model = build("--sparsity", "0.1", "--contractive", "0.1")
    x = torch.rand(5, 784)
    model.eval()
    plain = ae.AutoEncoder.forward(model, x)
    assert all(torch.equal(a, b) for a, b in zip(model(x), plain))
    model.train()
    args = ae.parse_args(["--sparsity", "0.1", "--contractive", "0.1"])
    _, decoded = model(x)
    terms = kinds.loss_terms(model)     # what the training loop adds, weighted already
    assert list(terms) == ["penalty"] and terms["penalty"] is model.penalty
    total = training.training_loss(args, model, ae.loss_func)(decoded, x)
    assert total.item() == pytest.approx((ae.loss_func(decoded, x) + model.penalty).item())


@pytest.mark.parametrize("flags, files", [
    (["--sparsity", "0.001"], set()), (["--contractive", "0.01"], set()),
    (["--adversarial"], {"prior.png"})])
def test_one_headless_epoch_writes_every_file_and_the_measure(synthetic_mnist, tmp_path, flags, files):
    root, _ = synthetic_mnist
    result = run_script(*flags, "--epochs", "1", "--batch-size", "64", "--data-dir", root,
                        "--out-dir", tmp_path, "--no-show", "--no-gif", "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert {p.name for p in tmp_path.iterdir()} == {
        "autoencoder.pt", "reconstructions.png", "latent_3d.png", "loss.png", "metrics.json",
        "generated.png", "code_grid.png", "interpolation.png", "worst.png", "similar.png"} | files
    says = {"--sparsity": "Sparsity of the test codes: mean |number| ",
            "--contractive": "Contraction on the test digits: dcode/dpixels has a mean norm of ",
            "--adversarial": "The test codes against the prior N(0, I): their mean is "}[flags[0]]
    assert says in result.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert {"code_mean_abs", "code_near_zero", "jacobian_norm", "code_shift", "code_mean_distance",
            "code_covariance_distance"} <= set(metrics)


@pytest.mark.parametrize("flags, says", [
    (["--sparsity", "-1"], "argument --sparsity: -1 is not allowed"),
    (["--contractive", "abc"], "argument --contractive: 'abc' is not a finite number"),
    (["--adversarial", "--variational"], "argument --adversarial: a variational autoencoder's KL"),
    (["--sparsity", "0.1", "--variational"], "argument --sparsity: a variational autoencoder's KL"),
    (["--adversarial", "--contractive", "0.1"], "argument --contractive: with --adversarial the "
                                                "discriminator shapes the codes"),
])
def test_bad_values_and_combinations_are_one_line(flags, says):
    result = run_script(*flags, "--data-dir", "/nonexistent", "--no-download")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr


def test_the_keras_sparse_recipe_is_the_blogs_network():
    model = build("--recipe", "keras-sparse")
    assert [type(m) for m in model.encoder] == [nn.Linear, nn.ReLU]
    assert [type(m) for m in model.decoder] == [nn.Linear, nn.Sigmoid]
    assert (model.encoder[0].out_features, model.sparsity, model.contractive) == (32, 1e-4, 0.0)
