"""The adversarial autoencoder (lab/kinds/adversarial.py): its own steps before each
reconstruction step, each training only its own part; the codes pulled towards the prior; the
adversary and its optimizers kept in checkpoints."""
import pytest
import torch

import autoencoder as ae
from conftest import run_script, synthetic_images, train_epochs
from lab import evaluation, kinds, network
from lab.kinds import adversarial, base


def build(*argv):
    return kinds.build(ae.parse_args([*argv, "--device", "cpu"]), ae.AutoEncoder)


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


def test_its_steps_come_before_the_reconstructions_through_before_step_not_in_forward():
    torch.manual_seed(0)
    model, x = build("--adversarial"), torch.rand(16, 784)
    assert isinstance(model, adversarial.AdversarialAutoEncoder) and isinstance(model, base.Kind)
    everything = snapshot(model)
    model.train()
    encoded, decoded = model(x)     # the lesson's forward: no step of its own, no loss term
    assert same(everything, model) and all(p.grad is None for p in model.parameters())
    assert torch.equal(encoded, model.encoder(x)) and torch.equal(decoded, model.decoder(encoded))
    assert kinds.loss_terms(model) == {}
    encoder, decoder, critic = (snapshot(m) for m in (model.encoder, model.decoder, model.discriminator))
    kinds.before_step(model, x)     # what train() calls before each reconstruction step
    assert not same(critic, model.discriminator) and not same(encoder, model.encoder)
    assert same(decoder, model.decoder)
    assert all(p.grad is None for p in model.parameters())     # nothing left for the reconstruction
    plain = build()                 # the tutorial's network has no steps of its own
    before = snapshot(plain)
    kinds.before_step(plain, x)
    assert same(before, plain)


def test_the_adversarys_parameters_stay_out_of_the_count_and_the_l2_penalty(capsys):
    model = build("--adversarial", "--l2", "0.1")
    plain = build("--l2", "0.1")
    assert sum(p.numel() for p in network.own_parameters(model)) == 219_891
    assert network.l2_penalty(model).item() == pytest.approx(network.l2_penalty(plain).item(), rel=0.2)
    assert "219,891 parameters (and the discriminator's 67,073)" in capsys.readouterr().out


def test_adversarial_training_pulls_the_codes_towards_the_prior(synthetic_mnist):
    images = synthetic_images(synthetic_mnist)
    distances = {}
    for flags in ([], ["--adversarial"]):
        torch.manual_seed(0)
        args = ae.parse_args(flags)
        model = kinds.build(args, ae.AutoEncoder)
        # 16 epochs: at 8, on these 2,000 images, the slow discriminator (Adam 0.0002) has moved
        # the codes' mean but not yet their covariance
        train_epochs(images, 16, 32, model=model, flags=flags)
        found = evaluation.code_measures(args, model, images[:500], torch.Generator().manual_seed(0))
        distances[bool(flags)] = (found["code_mean_distance"], found["code_covariance_distance"])
    (mean, covariance), (plain_mean, plain_covariance) = distances[True], distances[False]
    assert mean < plain_mean and covariance < plain_covariance, distances
    assert mean + covariance < 0.5 * (plain_mean + plain_covariance), distances


def test_resume_restores_the_adversary_and_its_optimizers(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    common = ["--data-dir", root, "--no-show", "--no-gif", "--device", "cpu", "--batch-size", "64"]
    assert run_script("--adversarial", "--epochs", "1", "--out-dir", tmp_path, *common).returncode == 0
    checkpoint = torch.load(tmp_path / "autoencoder.pt", weights_only=True)
    model = kinds.build(ae.parse_args(["--adversarial"]), ae.AutoEncoder)
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
