"""The variants' section, continued: sparse, contractive and adversarial autoencoders."""
import json

import pytest
import torch
from torch import nn

import autoencoder as ae
from conftest import run_script, synthetic_images, train_epochs


def build(*argv):
    return ae.build_autoencoder(ae.parse_args([*argv, "--device", "cpu"]))


def test_the_sparsity_penalty_is_the_sum_of_absolute_codes_per_image_by_hand():
    encoded = torch.tensor([[1.0, -2.0, 0.0], [0.5, 0.5, -3.0]])
    assert ae.sparsity_penalty(encoded).item() == pytest.approx(((1 + 2 + 0) + (0.5 + 0.5 + 3)) / 2)
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
    assert torch.allclose(ae.jacobian_norms(model, x), expected.sqrt(), rtol=1e-5)
    model.penalty.backward()    # the penalty trains the weights: it has gradients
    assert model.encoder[0].weight.grad.abs().sum() > 0


def test_the_contractive_penalty_of_a_conv_encoder_is_exact_too():
    torch.manual_seed(0)
    model = build("--conv", "--channels", "2,2", "--hidden", "8", "--contractive", "1")
    x = torch.rand(2, 784)
    expected = torch.stack([torch.autograd.functional.jacobian(model.encoder, image[None]).pow(2).sum()
                            for image in x])
    assert torch.allclose(ae.jacobian_norms(model, x).pow(2), expected, rtol=1e-5)


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
    total = ae.training_loss(args, model)(decoded, x)
    assert total.item() == pytest.approx((ae.loss_func(decoded, x) + model.penalty).item())


def snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def same(before, module):
    return all(torch.equal(a, b) for a, b in zip(before, module.parameters()))


def test_each_adversarial_step_trains_only_its_own_part():
    torch.manual_seed(0)
    model, x = build("--adversarial"), torch.rand(16, 784)
    encoder, decoder, critic = (snapshot(m) for m in (model.encoder, model.decoder, model.discriminator))
    model.discriminator_step(x)
    assert same(encoder, model.encoder) and same(decoder, model.decoder)
    assert not same(critic, model.discriminator)
    critic = snapshot(model.discriminator)
    model.generator_step(x)
    assert same(critic, model.discriminator) and same(decoder, model.decoder)
    assert not same(encoder, model.encoder)
    assert all(p.grad is None for p in model.parameters())     # nothing left for the next step


def test_the_adversarys_parameters_stay_out_of_the_count_and_the_l2_penalty(capsys):
    model = build("--adversarial", "--l2", "0.1")
    plain = build("--l2", "0.1")
    assert sum(p.numel() for p in ae.own_parameters(model)) == 219_891
    assert ae.l2_penalty(model).item() == pytest.approx(ae.l2_penalty(plain).item(), rel=0.2)
    assert "219,891 parameters (and the discriminator's 67,073)" in capsys.readouterr().out


def test_adversarial_training_pulls_the_codes_towards_the_prior(synthetic_mnist):
    images = synthetic_images(synthetic_mnist)
    distances = {}
    for flags in ([], ["--adversarial"]):
        torch.manual_seed(0)
        args = ae.parse_args(flags)
        model = ae.build_autoencoder(args)
        # 16 epochs: at 8, on these 2,000 images, the slow discriminator (Adam 0.0002) has moved
        # the codes' mean but not yet their covariance
        train_epochs(images, 16, 32, model=model, flags=flags)
        found = ae.code_measures(args, model, images[:500], torch.Generator().manual_seed(0))
        distances[bool(flags)] = (found["code_mean_distance"], found["code_covariance_distance"])
    (mean, covariance), (plain_mean, plain_covariance) = distances[True], distances[False]
    assert mean < plain_mean and covariance < plain_covariance, distances
    assert mean + covariance < 0.5 * (plain_mean + plain_covariance), distances


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
        "generated.png", "code_grid.png", "interpolation.png", "worst.png"} | files
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


def test_resume_restores_the_adversary_and_its_optimizers(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    common = ["--data-dir", root, "--no-show", "--no-gif", "--device", "cpu", "--batch-size", "64"]
    assert run_script("--adversarial", "--epochs", "1", "--out-dir", tmp_path, *common).returncode == 0
    checkpoint = torch.load(tmp_path / "autoencoder.pt", weights_only=True)
    model = ae.build_autoencoder(ae.parse_args(["--adversarial"]))
    model.load_state_dict(checkpoint["model"])
    for name, value in checkpoint["model"].items():
        if name.startswith("discriminator."):
            assert torch.equal(model.state_dict()[name], value)
    steps = -(-len(synthetic_images(synthetic_mnist)) // 64)
    for part, optimizer in model.optimizers.items():    # Adam's moments and step counts
        state = optimizer.state_dict()["state"]
        assert state and all(s["step"].item() == steps for s in state.values()), part
    resumed = run_script("--resume", tmp_path / "autoencoder.pt", "--epochs", "2", *common)
    assert resumed.returncode == 0, resumed.stderr
    assert "1 of 2 epochs done, with its --adversarial True" in resumed.stdout
    refused = run_script("--resume", tmp_path / "autoencoder.pt", "--epochs", "3", "--sparsity", "0.1",
                         *common)
    assert refused.returncode == 1 and "--sparsity 0.0 but this run has --sparsity 0.1" in refused.stderr


def test_the_keras_sparse_recipe_is_the_blogs_network():
    model = build("--recipe", "keras-sparse")
    assert [type(m) for m in model.encoder] == [nn.Linear, nn.ReLU]
    assert [type(m) for m in model.decoder] == [nn.Linear, nn.Sigmoid]
    assert (model.encoder[0].out_features, model.sparsity, model.contractive) == (32, 1e-4, 0.0)
