"""Recipes (lab/recipes.py): named systems as their sources wrote them, each one --recipe NAME away."""
import json
import math
import os

import pytest
import torch
from torch import nn

import autoencoder as ae
from conftest import layer_plan, run_script
from lab import code_sizes, errors, kinds, measures, network, recipes, runs, training
from lab.kinds import vae

ELU, ReLU, Tanh, Sigmoid = nn.ELU, nn.ReLU, nn.Tanh, nn.Sigmoid


def build(*argv):
    return kinds.build(ae.parse_args([*argv, "--device", "cpu"]), ae.AutoEncoder)


@pytest.mark.parametrize("name, encoder, decoder", [
    ("tutorial", ([(784, 128), (128, 64), (64, 12), (12, 3)], [Tanh] * 3),
     ([(3, 12), (12, 64), (64, 128), (128, 784)], [Tanh] * 3 + [Sigmoid])),
    # the notes' AE: a ReLU after the code layer too
    ("notes-relu", ([(784, 256), (256, 64), (64, 20)], [ReLU] * 3),
     ([(20, 64), (64, 256), (256, 784)], [ReLU, ReLU, Sigmoid])),
    ("homl-linear", ([(784, 2)], []), ([(2, 784)], [])),
    # Hands-On ML: ELU on the code too, and a linear output
    ("homl-stacked", ([(784, 300), (300, 150)], [ELU, ELU]), ([(150, 300), (300, 784)], [ELU])),
    ("reruns-64", ([(784, 128), (128, 64), (64, 12), (12, 64)], [Tanh] * 3),
     ([(64, 12), (12, 64), (64, 128), (128, 784)], [Tanh] * 3 + [Sigmoid])),
    ("hinton2006", ([(784, 1000), (1000, 500), (500, 250), (250, 30)], [ELU] * 3),
     ([(30, 250), (250, 500), (500, 1000), (1000, 784)], [ELU] * 3 + [Sigmoid])),
])
def test_each_recipe_builds_the_network_of_its_source(name, encoder, decoder, capsys):
    model = build("--recipe", name)
    assert layer_plan(model.encoder) == encoder and layer_plan(model.decoder) == decoder
    assert capsys.readouterr().out.startswith(f"Recipe {name}: ")


def test_the_tutorial_recipe_is_the_default_run():
    args, default = ae.parse_args(["--recipe", "tutorial"]), ae.parse_args([])
    # the same run, but for its name: a recipe asked for by name is kept under that name
    assert {**vars(args), "recipe": None, "changed": "", "out_dir": "./results/tutorial"} == vars(default)
    assert (args.changed, args.out_dir) == ("--recipe tutorial", os.path.join(runs.OUT_DIR, "recipe-tutorial"))
    torch.manual_seed(1)
    a = build("--recipe", "tutorial").state_dict()
    torch.manual_seed(1)
    b = ae.AutoEncoder().state_dict()
    assert all(torch.equal(a[key], b[key]) for key in b)


def test_hands_on_mls_recipes_train_as_the_book_does():
    args = ae.parse_args(["--recipe", "homl-stacked"])
    assert (args.lr, args.batch_size, args.epochs, args.l2, args.weight_decay, args.loss) == (
        0.001, 150, 30, 0.001, 0.0, "mse")
    tied = ae.parse_args(["--recipe", "homl-tied"])
    assert (tied.lr, tied.batch_size, tied.epochs, tied.tied) == (0.01, 150, 5, True)
    # those two are seed 002's transcription, and say so; the book's own notebook has its own
    assert all("as seed 002 transcribes it" in recipes.RECIPES[name][0] for name in ("homl-stacked", "homl-tied"))
    notebook = ae.parse_args(["--recipe", "homl-notebook"])
    assert (notebook.lr, notebook.batch_size, notebook.epochs, notebook.l2, notebook.tied) == (
        0.01, 150, 5, 0.0001, False)
    notebook_tied = ae.parse_args(["--recipe", "homl-notebook-tied"])
    assert (notebook_tied.lr, notebook_tied.batch_size, notebook_tied.epochs, notebook_tied.l2,
            notebook_tied.tied) == (0.01, 150, 5, 0.0005, True)
    for args in (notebook, notebook_tied):      # the same network as the transcription's
        assert (args.hidden, args.code_size, args.activation, args.code_activation, args.output,
                args.init, args.optimizer) == ([300], 150, "elu", "elu", "linear", "he", "adam")


def test_glorot_initial_weights_are_keras_glorot_uniform_and_zero_biases(capsys):
    torch.manual_seed(0)
    for model in (build("--recipe", "keras-sparse"), build("--recipe", "keras-conv")):
        layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
        assert layers
        for layer in layers:
            window = layer.weight[0, 0].numel() if layer.weight.dim() == 4 else 1
            fan_in, fan_out = layer.weight.shape[1] * window, layer.weight.shape[0] * window
            bound = math.sqrt(6 / (fan_in + fan_out))
            assert layer.weight.abs().max().item() <= bound
            if layer.weight.numel() > 1000:     # uniform within the bound: std bound / sqrt(3)
                assert layer.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
            assert torch.all(layer.bias == 0)
    assert "Glorot's initial weights" in capsys.readouterr().out


def test_he_initial_weights_have_the_std_of_he_and_zero_biases():
    torch.manual_seed(0)
    model = build("--recipe", "homl-stacked")
    for layer in [m for m in model.modules() if isinstance(m, nn.Linear)]:
        he = math.sqrt(2 / layer.in_features)
        assert layer.weight.std().item() == pytest.approx(he, rel=0.03)
        assert layer.weight.abs().max().item() <= 2 * math.sqrt(2.6 / layer.in_features) + 1e-6
        assert torch.all(layer.bias == 0)
    default = ae.AutoEncoder([300], 150, "elu")     # PyTorch's: uniform, std sqrt(1/3) of He's
    assert default.encoder[0].weight.std().item() < 0.7 * math.sqrt(2 / 784)


@pytest.mark.parametrize("name", ["homl-stacked", "homl-tied"])
def test_the_l2_penalty_touches_each_weight_matrix_once_and_no_bias(name):
    model = build("--recipe", name)
    args = ae.parse_args(["--recipe", name])
    x = torch.rand(4, 784)
    decoded = model(x)[1]
    loss = training.training_loss(args, model, ae.loss_func)(decoded, x)
    matrices = [m.weight for m in model.encoder if isinstance(m, nn.Linear)]
    if name == "homl-stacked":
        matrices += [m.weight for m in model.decoder if isinstance(m, nn.Linear)]
    by_hand = nn.functional.mse_loss(decoded, x) + 0.001 * sum((w ** 2).sum() / 2 for w in matrices)
    assert loss.item() == pytest.approx(by_hand.item(), rel=1e-6)
    model.zero_grad()
    network.l2_penalty(model).backward()
    for name_, p in model.named_parameters():   # the penalty's gradient: w itself, none for biases
        grad = torch.zeros_like(p) if p.grad is None else p.grad
        assert torch.allclose(grad, p.detach() if p.dim() == 2 else torch.zeros_like(p)), name_


def test_the_notes_vae_splits_20_outputs_into_10_means_and_10_stds_and_adds_their_kl():
    torch.manual_seed(0)
    model = build("--recipe", "notes-vae")
    args = ae.parse_args(["--recipe", "notes-vae"])
    assert isinstance(model, vae.VariationalAutoEncoder) and model.spread == "std"
    assert layer_plan(model.encoder) == ([(784, 256), (256, 64), (64, 10)], [ReLU] * 3)
    assert (model.log_var.in_features, model.log_var.out_features) == (64, 10)
    assert layer_plan(model.decoder) == ([(10, 64), (64, 256), (256, 784)], [ReLU, ReLU, Sigmoid])
    x = torch.rand(32, 784)
    model.train()
    decoded = model(x)[1]
    # the notes' own lines: one layer of 20 outputs after a ReLU, chunked into mu and sigma
    features = model.encoder[:4](x)
    layer = nn.Linear(64, 20)
    with torch.no_grad():
        layer.weight.copy_(torch.cat([model.encoder[4].weight, model.log_var.weight]))
        layer.bias.copy_(torch.cat([model.encoder[4].bias, model.log_var.bias]))
    mu, sigma = torch.relu(layer(features)).chunk(2, dim=1)
    kld = 0.5 * torch.sum(mu ** 2 + sigma ** 2 - torch.log(1e-8 + sigma ** 2) - 1) / x.numel()
    notes_loss = nn.functional.mse_loss(decoded, x) + 1.0 * kld
    loss = training.training_loss(args, model, ae.loss_func)(decoded, x)
    assert loss.item() == pytest.approx(notes_loss.item(), rel=1e-5)
    assert torch.allclose(measures.codes(model, x), mu)       # the code: the means


def test_a_flag_beside_a_recipe_overrides_its_value():
    args = ae.parse_args(["--recipe", "homl-stacked", "--epochs", "5", "--lr", "0.002"])
    assert (args.epochs, args.lr, args.code_size, args.l2, args.init) == (5, 0.002, 150, 0.001, "he")


def test_an_unknown_recipe_is_one_line_that_lists_the_known_ones():
    result = run_script("--recipe", "homl")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "argument --recipe: invalid choice: 'homl'" in result.stderr
    assert all(name in result.stderr for name in recipes.RECIPES)


@pytest.mark.parametrize("name", list(recipes.RECIPES))
def test_one_epoch_of_each_recipe_writes_every_file(synthetic_mnist, tmp_path, name, capsys):
    root, _ = synthetic_mnist
    ae.main(["--recipe", name, "--epochs", "1", "--data-dir", str(root), "--out-dir", str(tmp_path),
             "--no-show", "--device", "cpu"])
    printed = capsys.readouterr().out
    assert printed.startswith(f"Recipe {name}: {recipes.RECIPES[name][0]}\n")
    scatter = code_sizes.latent_name(ae.parse_args(["--recipe", name]).code_size)
    expected = {"autoencoder.pt", "reconstructions.png", f"{scatter}.png", "loss.png", "metrics.json",
                "generated.png", "code_grid.png", "interpolation.png", "worst.png",
                "similar.png", "reconstructions.gif"} | ({"latent_3d.gif"} if scatter == "latent_3d" else set()) | (
                {"denoised.png"} if recipes.RECIPES[name][1].get("noise") else set())
    assert {p.name for p in tmp_path.iterdir()} == expected
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["recipe"] == name and math.isfinite(metrics["final_test_loss"])
    assert torch.load(tmp_path / "autoencoder.pt", weights_only=True)["config"]["recipe"] == name


def test_resume_keeps_the_recipe(synthetic_mnist, tmp_path, capsys):
    root, _ = synthetic_mnist
    flags = ["--data-dir", str(root), "--no-show", "--no-gif", "--device", "cpu"]
    ae.main(["--recipe", "homl-tied", "--epochs", "1", "--out-dir", str(tmp_path), *flags])
    capsys.readouterr()
    checkpoint = str(tmp_path / "autoencoder.pt")
    ae.main(["--resume", checkpoint, "--epochs", "2", *flags])
    printed = capsys.readouterr().out
    assert printed.startswith("Recipe homl-tied: ")
    assert ": 1 of 2 epochs done, with its --recipe homl-tied, --hidden 300, --code-size 150" in printed
    config = torch.load(checkpoint, weights_only=True)["config"]
    assert (config["recipe"], config["tied"], config["l2"], config["lr"]) == ("homl-tied", True, 0.001, 0.01)
    with pytest.raises(errors.UserError) as error:
        ae.parse_args(["--resume", checkpoint, "--epochs", "3", "--recipe", "homl-stacked"])
    assert error.value.status == 1
    assert "was trained with --recipe homl-tied but this run has --recipe homl-stacked" in error.value.message


def test_the_2006_recipes_choice_is_made_on_training_images_never_the_test_set(synthetic_mnist, monkeypatch):
    """benchmarks/recipe_2006.py (through benchmarks/validate.py) scores each run on the last
    training images; reading the test files at all fails this test."""
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(ae.__file__), "benchmarks"))
    import recipe_2006
    import validate
    root, arrays = synthetic_mnist
    load = ae.load_mnist

    def training_images_only(data_dir, train=True, download=True):
        assert train, "the test set was read"
        return load(data_dir, train=train, download=download)
    monkeypatch.setattr(ae, "load_mnist", training_images_only)
    monkeypatch.setattr(validate, "N_VALIDATION", 500)
    train, validation = validate.split(str(root))
    every = ae.to_float_images(load(str(root), download=False)[0], torch.device("cpu"))
    assert torch.equal(torch.cat([train, validation]), every)   # a cut of the training images
    assert len(validation) == 500 and len(train) == len(every) - 500
    flags = "--hidden 32 --code-size 2 --batch-size 64"
    errors_per_epoch = recipe_2006.scores(flags, 2, train, validation)
    assert len(errors_per_epoch) == 2 and errors_per_epoch[1] < errors_per_epoch[0]
    # the score is the validation images' own error, in the paper's unit
    torch.manual_seed(recipe_2006.SEED)
    model = trained(train, flags, 2)
    assert errors_per_epoch[-1] == pytest.approx(784 * measures.test_loss(model, validation), rel=1e-6)


def trained(images, flags, epochs):
    """A model trained as autoencoder.py trains it, seeded as validate.validate seeds it."""
    args = ae.parse_args([*flags.split(), "--epochs", str(epochs), "--seed", "1"])
    model = kinds.build(args, ae.AutoEncoder)
    optimizer = ae.make_optimizer(model, args.lr, args.weight_decay, args.optimizer)
    history = {"train_losses": [], "epoch_seconds": []}
    for epoch in range(epochs):
        ae.train(args, model, optimizer, images, epoch, history)
    return model
