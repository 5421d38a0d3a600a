"""Reading digits from a few labels (lab/features.py): the labelled draw, the classifiers, the
spreading by hand, --labels's one-line errors, a whole run, and benchmarks/few_labels.py choosing
its settings without reading the test set."""
import json
import os
import re
import sys

import matplotlib.image
import numpy as np
import pytest
import torch

import autoencoder as ae
from conftest import REPO, flag_error, synthetic_images, train_epochs
from lab import features, kinds


def synthetic_labels(synthetic_mnist, train=True):
    return torch.from_numpy(synthetic_mnist[1][train][1].astype(np.int64))


def test_the_draw_is_balanced_repeatable_and_never_from_the_last_sixth(synthetic_mnist):
    labels = synthetic_labels(synthetic_mnist)      # 2000 training labels
    chosen = features.draw(labels, 50, seed=1)
    assert len(chosen) == len(set(chosen.tolist())) == 50
    assert torch.bincount(labels[chosen], minlength=10).tolist() == [5] * 10
    assert chosen.max() < 2000 - 2000 // 6      # the last sixth is kept for choosing
    assert torch.equal(chosen, features.draw(labels, 50, seed=1))
    assert not torch.equal(chosen, features.draw(labels, 50, seed=2))
    assert set(chosen.tolist()) < set(features.draw(labels, 100, seed=1).tolist())   # nested
    assert features.draw(labels, 2000, seed=1) is None      # more of a digit than there are


@pytest.fixture(scope="module")
def trained(synthetic_mnist):
    """A small autoencoder trained 2 epochs on the synthetic digits, and prepare()'s inputs."""
    torch.manual_seed(0)
    images = synthetic_images(synthetic_mnist)
    test_images = ae.to_float_images(torch.from_numpy(synthetic_mnist[1][False][0]), torch.device("cpu"))
    args = ae.parse_args(["--hidden", "64", "--code-size", "4"])
    model = kinds.build(args, ae.AutoEncoder)
    train_epochs(images, 2, 32, model=model, flags=["--hidden", "64", "--code-size", "4"])
    return model.eval(), features.prepare(model, images, test_images)


def test_each_classifier_beats_chance_and_is_the_same_again_for_the_same_seed(synthetic_mnist, trained):
    model, inputs = trained
    labels, truth = synthetic_labels(synthetic_mnist), synthetic_labels(synthetic_mnist, train=False)
    chosen = features.draw(labels, 50, seed=1)
    guesses = features.read_digits(model, inputs, labels, chosen, seed=1)
    assert list(guesses) == ["pixels", "pca", "codes", "fine_tuned", "from_scratch", "spread"]
    for name, found in guesses.items():     # 10 classes: chance is 10 %
        assert (found == truth).float().mean() > 0.5, name
    again = features.read_digits(model, inputs, labels, chosen, seed=1)
    assert all(torch.equal(guesses[name], again[name]) for name in guesses)


def test_fine_tuning_starts_from_the_encoder_and_from_scratch_does_not(trained):
    model, inputs = trained
    tuned, fresh = (features.network_for(name, model, inputs) for name in ("fine_tuned", "from_scratch"))
    first = model.encoder[0].weight
    assert torch.equal(tuned[0][0].weight, first) and tuned[0][0].weight is not first   # a copy
    assert not torch.allclose(fresh[0][0].weight, first)


def test_a_step_of_spreading_is_the_mean_over_the_symmetric_graph():
    # 4 training digits, each with its 2 nearest (itself first), and 1 test digit
    nearest = torch.tensor([[0, 1], [1, 0], [2, 1], [3, 2]])
    chosen, labels = torch.tensor([0, 3]), torch.tensor([4, 0, 0, 7])
    settings = {"neighbours": 2, "alpha": 0.5, "steps": 1}
    adjacency = torch.zeros(4, 4)
    for i, row in enumerate(nearest.tolist()):
        for j in row:
            adjacency[i, j] += 1
    both = adjacency + adjacency.T      # an edge counts from each end
    start = torch.zeros(4, 10)
    start[0, 4] = start[3, 7] = 1
    expected = 0.5 * (both @ start) / both.sum(1, keepdim=True) + 0.5 * start
    for test_nearest, digit in ((torch.tensor([[2, 3]]), 7), (torch.tensor([[1, 0]]), 4)):
        graph = features.Graph(nearest, test_nearest)
        found = features.spread_labels(graph, chosen, labels, settings)
        assert found.tolist() == [expected[test_nearest[0]].sum(0).argmax().item()] == [digit]
        step = graph.step(2)    # built once for the graph, for any number of draws
        assert torch.allclose(step.to_dense(), both / both.sum(1, keepdim=True))
        assert features.spread_labels(graph, chosen, labels, settings).tolist() == [digit] and graph.step(2) is step


@pytest.mark.parametrize("value, says", [("0", "is not allowed"), ("15", "is not allowed"),
                                         ("70000", "is not allowed"), ("ten", "is not a whole number")])
def test_a_bad_number_of_labels_is_one_line(value, says, capsys):
    message = flag_error(["--labels", value], capsys)
    assert "argument --labels: " in message and says in message


def test_labels_with_some_training_digits_is_refused_in_one_line(capsys):
    message = flag_error(["--labels", "100", "--train-digits", "3"], capsys)
    assert "argument --labels: the labelled digits are drawn from all ten" in message


def test_a_run_with_labels_prints_keeps_and_draws_the_accuracies(synthetic_mnist, tmp_path, capsys):
    root, arrays = synthetic_mnist
    ae.main(["--labels", "50", "--epochs", "1", "--batch-size", "32", "--data-dir", str(root),
             "--out-dir", str(tmp_path), "--no-show", "--no-gif", "--device", "cpu"])
    printed = capsys.readouterr().out
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    accuracy = metrics["labels_accuracy"]
    assert list(accuracy) == ["pixels", "pca", "codes", "fine_tuned", "from_scratch", "spread"]
    assert all(0 <= value <= 1 for value in accuracy.values())
    assert np.bincount(arrays[True][1][metrics["labelled_images"]], minlength=10).tolist() == [5] * 10
    lines = re.search(r"^Reading the test digits from 50 labels \(5 per digit, drawn with the seed\), "
                      r"accuracy of:\n((?:  .*\n){6})", printed, re.M)[1].splitlines()
    assert [float(line.split()[-1].rstrip("%")) for line in lines] == [round(100 * a, 1) for a in accuracy.values()]
    for name in ("labels.png", "similar.png"):
        picture = matplotlib.image.imread(tmp_path / name)
        assert picture.shape[0] > 400 and picture[..., :3].std() > 0.05, name
    assert re.search(r"^Wrote .*similar\.png, labels\.png, ", printed, re.M)


def test_too_many_labels_for_the_images_skips_the_classifiers_and_the_run_ends_well(synthetic_mnist, tmp_path,
                                                                                     capsys):
    root, _ = synthetic_mnist
    ae.main(["--labels", "2000", "--epochs", "1", "--data-dir", str(root), "--out-dir", str(tmp_path),
             "--no-show", "--no-gif", "--device", "cpu"])
    printed = capsys.readouterr().out
    assert "Reading digits from 2000 labels: skipped: the training images hold fewer than 200 of some digit" in printed
    assert "labels_accuracy" not in json.loads((tmp_path / "metrics.json").read_text())
    assert not (tmp_path / "labels.png").exists() and (tmp_path / "similar.png").exists()


def test_the_benchmark_chooses_on_held_out_training_digits_never_the_test_set(synthetic_mnist, monkeypatch,
                                                                                capsys):
    """benchmarks/few_labels.py --choose: reading the test files at all fails this test; every
    labelled digit is drawn from, and every autoencoder trained on, the first five sixths."""
    sys.path.insert(0, os.path.join(REPO, "benchmarks"))
    import few_labels
    root, _ = synthetic_mnist
    load, draw, prepare = ae.load_mnist, features.draw, features.prepare
    drawn, trained_on = [], []

    def training_images_only(data_dir, train=True, download=True):
        assert train, "the test set was read"
        return load(data_dir, train=train, download=download)

    def recorded_draw(labels, n, seed):
        drawn.append(draw(labels, n, seed))
        return drawn[-1]

    def recorded_prepare(model, images, test_images, most):
        trained_on.append((len(images), len(test_images)))
        return prepare(model, images, test_images, most)
    monkeypatch.setattr(ae, "load_mnist", training_images_only)
    monkeypatch.setattr(features, "draw", recorded_draw)
    monkeypatch.setattr(features, "prepare", recorded_prepare)
    monkeypatch.setattr(few_labels, "GRID", {
        "small layer": {"lr": (0.01,), "weight_decay": (0.0, 0.01), "steps": (20, 40)},
        "encoder": {"lr": (0.003,), "weight_decay": (0.0,), "steps": (20,)},
        "spread": {"neighbours": (3, 5), "alpha": (0.99,), "steps": (10,)}})
    best = few_labels.choose(str(root), {"small": "--hidden 32 --code-size 2 --epochs 1"}, seeds=(1,),
                             columns=(20,))
    assert trained_on == [(2000 - 333, 333)]
    assert drawn and all(chosen.max() < 2000 - 333 for chosen in drawn)
    assert set(best) == set(features.SETTINGS) and best["spread"]["neighbours"] in (3, 5)
    assert best["codes"]["steps"] in (20, 40) and best["fine_tuned"]["steps"] == 20
    printed = capsys.readouterr().out
    assert "pixels: the mean held-out accuracy of 1 runs (autoencoders x labels x draws)" in printed
