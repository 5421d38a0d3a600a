"""The convolutional autoencoder (lab/kinds/conv.py): --conv and --channels, the Keras blog's layers."""
import json

import pytest
import torch
from torch import nn

import autoencoder as ae
from conftest import run_script, synthetic_images, train_epochs
from lab import kinds, measures
from lab.kinds import conv, vae


def build(*argv):
    return kinds.build(ae.parse_args(["--conv", *argv, "--device", "cpu"]), ae.AutoEncoder)


def plan(sequential):
    """What a reader of the class sees: each layer's type with its sizes, in order."""
    described = []
    for m in sequential:
        if isinstance(m, nn.Conv2d):
            described.append(("conv", m.in_channels, m.out_channels, m.kernel_size, m.padding))
        elif isinstance(m, nn.Linear):
            described.append(("linear", m.in_features, m.out_features))
        elif isinstance(m, nn.Upsample):
            described.append(("up", m.size))
        else:
            described.append(type(m).__name__)
    return described


@pytest.mark.parametrize("code_size", [1, 2, 3, 64])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_codes_have_the_code_size_and_pixels_stay_between_0_and_1(code_size, activation):
    torch.manual_seed(0)
    model, x = build("--code-size", str(code_size), "--activation", activation), torch.rand(6, 784)
    encoded, decoded = model(x)
    assert encoded.shape == (6, code_size) and decoded.shape == (6, 784)
    assert 0 < decoded.min() and decoded.max() < 1


def test_the_encoder_alone_gives_the_codes_of_the_forward_pass(synthetic_mnist):
    torch.manual_seed(0)
    images = synthetic_images(synthetic_mnist)[:300]
    model = build()
    model.eval()
    with torch.no_grad():
        forward = model(images)[0]
    assert torch.allclose(measures.codes(model, images, batch_size=64), forward, atol=1e-6)


def test_the_default_layers_pool_to_7x7_then_narrow_to_the_code_and_mirror_back():
    model = build()
    assert plan(model.encoder) == [
        "Unflatten", ("conv", 1, 16, (3, 3), (1, 1)), "Tanh", "MaxPool2d",
        ("conv", 16, 32, (3, 3), (1, 1)), "Tanh", "MaxPool2d", "Flatten",
        ("linear", 32 * 7 * 7, 128), "Tanh", ("linear", 128, 64), "Tanh", ("linear", 64, 12), "Tanh",
        ("linear", 12, 3)]
    assert plan(model.decoder) == [
        ("linear", 3, 12), "Tanh", ("linear", 12, 64), "Tanh", ("linear", 64, 128), "Tanh",
        ("linear", 128, 32 * 7 * 7), "Tanh", "Unflatten",
        ("conv", 32, 32, (3, 3), (1, 1)), "Tanh", ("up", (14, 14)),
        ("conv", 32, 16, (3, 3), (1, 1)), "Tanh", ("up", (28, 28)),
        ("conv", 16, 1, (3, 3), (1, 1)), "Flatten", "Sigmoid"]


def test_the_keras_recipe_is_the_blogs_network_and_its_map_is_the_code(capsys):
    model = kinds.build(ae.parse_args(["--recipe", "keras-conv"]), ae.AutoEncoder)
    x = torch.rand(2, 784)
    assert model.encoder(x).shape == (2, 128)       # 8x4x4, no fully connected layer
    assert not any(isinstance(m, nn.Linear) for m in model.modules())
    # the blog's 7 convolutions, 3x3 each: (9 x inputs + 1 bias) x outputs
    convs = [(1, 16), (16, 8), (8, 8), (8, 8), (8, 8), (8, 16), (16, 1)]
    assert sum(p.numel() for p in model.parameters()) == sum((9 * i + 1) * o for i, o in convs) == 4385
    assert [m.size for m in model.decoder if isinstance(m, nn.Upsample)] == [(7, 7), (14, 14), (28, 28)]
    assert "ConvAutoEncoder: 1x28x28-16x14x14-8x7x7-8x4x4-128-8x4x4-8x7x7-16x14x14-1x28x28" in (
        capsys.readouterr().out)
    args = ae.parse_args(["--recipe", "keras-conv"])
    # the blog's setup: Keras 1.0's Adadelta at its rate of 1, Glorot's initial weights
    assert (args.loss, args.optimizer, args.lr, args.init, args.batch_size, args.epochs) == (
        "bce", "adadelta", 1.0, "glorot", 128, 50)
    denoising = ae.parse_args(["--recipe", "keras-denoising-conv"])
    assert (denoising.noise, denoising.code_size, denoising.epochs) == (0.5, 32 * 7 * 7, 100)


def test_the_map_shrinks_by_pools_that_round_up():
    assert [conv.conv_map([8] * n)[1] for n in range(6)] == [28, 14, 7, 4, 2, 1]
    model = build("--channels", "4,4,4,4,4", "--code-size", "2")
    assert model(torch.rand(3, 784))[1].shape == (3, 784)


def test_variational_with_conv_samples_around_the_encoders_mean():
    torch.manual_seed(0)
    model, x = build("--variational"), torch.rand(4, 784)
    assert isinstance(model, vae.VariationalAutoEncoder)
    model.train()
    assert not torch.equal(model(x)[0], model(x)[0]) and model.kl > 0
    model.eval()
    assert torch.equal(model(x)[0], model.encoder(x))


def test_denoising_and_vae_conv_models_train_and_their_loss_falls(synthetic_mnist):
    images = synthetic_images(synthetic_mnist)[:1024]
    for flags in (["--noise", "0.5"], ["--dropout", "0.2"], ["--variational"], ["--loss", "bce"]):
        torch.manual_seed(0)
        history = train_epochs(images, 2, 64, flags=["--conv", "--channels", "4,8", *flags])
        losses = [entry["loss"] for entry in history["train_losses"]]
        assert losses[-1] < losses[0], flags


def test_he_initialises_the_convolutions_by_their_window(capsys):
    torch.manual_seed(0)
    model = build("--init", "he", "--channels", "64,64")
    layer = model.encoder[4]    # 64 x 64 x 3 x 3 weights, fan-in 576
    assert layer.weight.std().item() == pytest.approx((2 / 576) ** 0.5, rel=0.05)
    assert torch.all(layer.bias == 0)


@pytest.mark.parametrize("flags, says", [
    (["--conv", "--channels", "0"], "argument --channels: 0 is not allowed"),
    (["--conv", "--channels", "a,b"], "argument --channels: 'a,b' is not a list of sizes"),
    (["--conv", "--channels", "4,4,4,4,4,4"], "use 1 to 5 whole numbers above 0"),
    (["--conv", "--channels", ""], "use 1 to 5 whole numbers above 0"),
    (["--channels", "8"], "argument --channels: only a convolutional autoencoder has channels: "
                          "add --conv"),
    (["--conv", "--tied"], "argument --tied: --conv's decoder upsamples and has no transposed"),
    (["--conv", "--channels", "8,8,2", "--hidden", "", "--code-size", "32", "--variational"],
     "argument --variational: with --conv, a code as large as the last map"),
    (["--conv", "--channels", "8,8,2", "--code-size", "33"],
     "argument --code-size: 33 is not allowed: use a whole number from 1 to 32, the numbers "
     "--conv's last map holds"),
    (["--code-size", "785"], "argument --code-size: 785 is not allowed: use a whole number from "
                             "1 to 784"),
])
def test_bad_conv_flags_are_one_line(flags, says):
    result = run_script(*flags, "--data-dir", "/nonexistent", "--no-download")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr


def test_a_headless_conv_run_writes_every_file_and_resumes_only_as_conv(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    common = ["--data-dir", root, "--no-show", "--device", "cpu", "--batch-size", "64"]
    result = run_script("--conv", "--channels", "4,8", "--noise", "0.3", "--epochs", "1",
                        "--out-dir", tmp_path, *common)
    assert result.returncode == 0, result.stderr
    assert "ConvAutoEncoder: 1x28x28-4x14x14-8x7x7-128-64-12-3-12-64-128-8x7x7-4x14x14-1x28x28" in (
        result.stdout)
    assert {p.name for p in tmp_path.iterdir()} == {
        "autoencoder.pt", "reconstructions.png", "latent_3d.png", "loss.png", "metrics.json",
        "generated.png", "code_grid.png", "interpolation.png", "worst.png", "denoised.png", "similar.png",
        "reconstructions.gif", "latent_3d.gif"}
    config = json.loads((tmp_path / "metrics.json").read_text())["config"]
    assert (config["conv"], config["channels"]) == (True, [4, 8])
    checkpoint = tmp_path / "autoencoder.pt"
    for flags, says in ((["--channels", "8,8"], "was trained with --channels 4,8 but this run has "
                                                 "--channels 8,8"),):
        refused = run_script("--resume", checkpoint, "--epochs", "2", *flags, *common)
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
        assert says in refused.stderr
    resumed = run_script("--resume", checkpoint, "--epochs", "2", "--no-gif", *common)
    assert resumed.returncode == 0, resumed.stderr
    assert "1 of 2 epochs done, with its --conv True, --channels 4,8" in resumed.stdout


def test_a_fully_connected_checkpoint_is_not_resumed_as_conv(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    common = ["--data-dir", root, "--no-show", "--no-gif", "--device", "cpu", "--batch-size", "64"]
    assert run_script("--epochs", "1", "--out-dir", tmp_path, *common).returncode == 0
    refused = run_script("--resume", tmp_path / "autoencoder.pt", "--epochs", "2", "--conv", *common)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "was trained with --conv False but this run has --conv True" in refused.stderr
