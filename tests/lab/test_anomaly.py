"""Anomaly detection (lab/anomaly.py): train on some digits only, and score the others by the
reconstruction error."""
import argparse
import json
import re

import matplotlib.image
import numpy as np
import pytest
import torch

import autoencoder as ae
from conftest import run_script
from lab import anomaly, kinds, measures


def test_the_training_set_keeps_exactly_the_asked_digits(synthetic_mnist):
    root, arrays = synthetic_mnist
    images, labels = anomaly.keep_digits(*ae.load_mnist(str(root), download=False), [3, 5, 8])
    wanted = np.isin(arrays[True][1], [3, 5, 8])
    assert sorted(labels.unique().tolist()) == [3, 5, 8] and len(labels) == wanted.sum()
    assert torch.equal(images, torch.from_numpy(arrays[True][0][wanted]))
    everything = ae.load_mnist(str(root), download=False)
    assert anomaly.keep_digits(*everything, list(range(10)))[0] is everything[0]


def sklearn_auroc():
    metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn is a test-only reference: "
                                  "pip install scikit-learn")
    return metrics.roc_auc_score


def test_auroc_is_scikit_learns_with_ties_counted_half():
    roc_auc_score = sklearn_auroc()
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = rng.integers(5, 300)
        scores = rng.integers(0, rng.integers(2, 30), n).astype(np.float32)    # many ties
        positive = rng.random(n) < rng.uniform(0.1, 0.9)
        if positive.all() or not positive.any():
            continue
        ours = anomaly.auroc(torch.from_numpy(scores), torch.from_numpy(positive))
        assert ours == pytest.approx(roc_auc_score(positive, scores), abs=1e-12)


def test_auroc_by_hand_counts_each_pair_and_ties_half():
    positive = torch.tensor([False, False, True, True])
    assert anomaly.auroc(torch.tensor([1.0, 2, 3, 4]), positive) == 1.0
    assert anomaly.auroc(torch.tensor([4.0, 3, 2, 1]), positive) == 0.0
    assert anomaly.auroc(torch.ones(4), positive) == 0.5
    # pairs (positive above negative): 3 > 1, 3 > 2, 2 = 2 (a half), 2 > 1: 3.5 of 4
    assert anomaly.auroc(torch.tensor([1.0, 2, 3, 2]), positive) == 3.5 / 4


def test_the_roc_curve_runs_from_nothing_flagged_to_everything_and_its_area_is_the_auroc():
    fpr, tpr = anomaly.roc_curve(torch.tensor([0.1, 0.4, 0.35, 0.8]),
                                 torch.tensor([False, False, True, True]))
    assert fpr.tolist() == [0, 0, 0.5, 0.5, 1] and tpr.tolist() == [0, 0.5, 0.5, 1, 1]
    scores = torch.tensor([1.0, 1, 1, 1, 2, 2])
    positive = torch.tensor([True, False, True, False, True, False])
    fpr, tpr = anomaly.roc_curve(scores, positive)     # ties: one step, diagonal, as the AUROC counts them
    area = np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)     # the trapezoids under the curve
    assert area == pytest.approx(anomaly.auroc(scores, positive)) == 0.5


def test_a_one_class_run_prints_and_keeps_the_auroc_of_each_unseen_digit(synthetic_mnist, tmp_path,
                                                                         capsys):
    roc_auc_score = sklearn_auroc()
    root, arrays = synthetic_mnist
    ae.main(["--train-digits", "3", "--epochs", "2", "--batch-size", "16", "--data-dir", str(root),
             "--out-dir", str(tmp_path), "--no-show", "--no-gif", "--device", "cpu"])
    printed = capsys.readouterr().out
    assert f"Training images: ({(arrays[True][1] == 3).sum()}, 28, 28)" in printed
    assert "5-nearest-neighbour accuracy: skipped: the training codes are of the digits 3 only" in printed
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["train_digits"] == [3] and "knn_accuracy" not in metrics
    # the scores again, from the saved model, one image at a time
    checkpoint = torch.load(tmp_path / "autoencoder.pt", weights_only=True)
    model = kinds.build(argparse.Namespace(**checkpoint["config"]), ae.AutoEncoder)
    model.load_state_dict(checkpoint["model"])
    model.eval()
    test_images = ae.to_float_images(torch.from_numpy(arrays[False][0]), torch.device("cpu"))
    with torch.no_grad():
        scores = np.array([((model(x[None])[1][0] - x) ** 2).mean().item() for x in test_images])
    labels = arrays[False][1]
    assert metrics["anomaly_auroc"] == pytest.approx(roc_auc_score(labels != 3, scores), abs=1e-4)
    by_digit = metrics["anomaly_auroc_by_digit"]
    assert by_digit[3] is None
    for digit in set(range(10)) - {3}:
        both = (labels == 3) | (labels == digit)
        assert by_digit[digit] == pytest.approx(roc_auc_score(labels[both] == digit, scores[both]),
                                                abs=1e-4), digit
    line = re.search(r"^Anomaly detection, .*: AUROC ([\d.]+) for the digits it never saw against "
                     r"its 3s$", printed, re.M)
    assert float(line[1]) == round(metrics["anomaly_auroc"], 3)
    each = re.search(r"^AUROC of each unseen digit alone against the 3s: (.*)$", printed, re.M)[1]
    assert [(int(d), float(a)) for d, a in (part.split() for part in each.split(" | "))] == [
        (d, round(by_digit[d], 3)) for d in range(10) if d != 3]
    picture = matplotlib.image.imread(tmp_path / "anomaly.png")
    assert picture.shape[0] > 500 and picture[..., :3].std() > 0.05
    assert "anomaly.png" in re.search(r"^Wrote (.*)$", printed, re.M)[1]


def test_resume_keeps_the_digits(synthetic_mnist, tmp_path, capsys):
    root, _ = synthetic_mnist
    flags = ["--data-dir", str(root), "--out-dir", str(tmp_path), "--no-show", "--no-gif"]
    ae.main([*flags, "--train-digits", "1,7", "--epochs", "1"])
    ae.main([*flags, "--resume", str(tmp_path / "autoencoder.pt"), "--epochs", "2"])
    printed = capsys.readouterr().out
    assert "with its --train-digits 1,7" in printed and "against its 1s and 7s" in printed
    assert json.loads((tmp_path / "metrics.json").read_text())["config"]["train_digits"] == [1, 7]


@pytest.mark.parametrize("digits, says", [("10", "10 is not allowed"), ("3,x", "is not a list of digits"),
                                          ("", "is not a list of digits"), ("-1", "is not allowed")])
def test_a_bad_digit_list_is_one_line(digits, says):
    result = run_script("--train-digits", digits)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "argument --train-digits: " in result.stderr and says in result.stderr
    assert "such as 3 or 3,5,8" in result.stderr


def test_a_run_on_all_digits_measures_no_anomalies(synthetic_mnist, tmp_path, capsys):
    root, _ = synthetic_mnist
    ae.main(["--train-digits", "9,8,7,6,5,4,3,2,1,0", "--epochs", "1", "--data-dir", str(root),
             "--out-dir", str(tmp_path), "--no-show", "--no-gif"])
    printed = capsys.readouterr().out
    assert "Anomaly" not in printed and "anomaly.png" not in printed and "5-nearest" in printed
    assert not (tmp_path / "anomaly.png").exists()


def test_with_the_cross_entropy_the_score_is_the_cross_entropy_of_each_image():
    torch.manual_seed(0)
    model, images = ae.AutoEncoder(), torch.rand(6, 784)
    with torch.no_grad():
        decoded = model(images)[1]
    expected = [torch.nn.functional.binary_cross_entropy(d, x).item() for d, x in zip(decoded, images)]
    assert measures.per_image_loss(model, images, "bce").tolist() == pytest.approx(expected, rel=1e-5)
    assert measures.per_image_loss(model, images).tolist() == pytest.approx(
        ((decoded - images) ** 2).mean(1).tolist(), rel=1e-5)
