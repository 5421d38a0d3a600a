"""How good a trained autoencoder is, in numbers (lab/measures.py): the codes, the test loss, exact
PCA and the nearest-neighbour search, against references; the helpers that need eval mode give
back the mode they found."""
import types

import pytest
import torch

import autoencoder as ae
from conftest import synthetic_images
from lab import kinds, measures
from lab.kinds import vae


def test_test_loss_is_the_mean_squared_error_over_all_pixels(synthetic_mnist):
    torch.manual_seed(0)
    images = synthetic_images(synthetic_mnist)[:300]
    model = ae.AutoEncoder()
    with torch.no_grad():
        decoded = model(images)[1].numpy().astype("float64")
    expected = ((decoded - images.numpy()) ** 2).mean()
    assert measures.test_loss(model, images) == pytest.approx(expected, rel=1e-5)
    assert measures.test_loss(model, images, batch_size=7) == pytest.approx(expected, rel=1e-5)  # ragged


def test_pca_finds_the_axes_a_synthetic_set_was_made_from():
    torch.manual_seed(0)
    axes, _ = torch.linalg.qr(torch.randn(784, 3))                 # orthonormal (784, 3)
    random = torch.randn(5000, 3)
    columns, _ = torch.linalg.qr(random - random.mean(0))         # zero-mean, uncorrelated
    coefficients = columns * 5000 ** 0.5 * torch.tensor([0.3, 0.2, 0.1])  # stds 0.3, 0.2, 0.1
    mean = torch.rand(784) * 0.5
    images = coefficients @ axes.T + mean                           # exactly 3-dimensional
    found_mean, found = measures.pca(images)
    assert torch.allclose(found_mean, images.mean(0), atol=1e-6)
    assert torch.allclose((found.T @ axes).abs(), torch.eye(3), atol=1e-4)   # same axes, in order
    assert measures.pca_test_loss(images, found_mean, found) < 1e-10
    spread = ((images - images.mean(0)) ** 2).mean().item()       # rebuilt from the mean image
    assert measures.pca_test_loss(images, found_mean, found[:, :0]) == pytest.approx(spread, rel=1e-4)
    assert measures.pca_test_loss(images, found_mean, found[:, :1]) == pytest.approx(
        spread * (0.2 ** 2 + 0.1 ** 2) / (0.3 ** 2 + 0.2 ** 2 + 0.1 ** 2), rel=0.05)


def test_knn_votes_among_the_5_nearest_and_breaks_ties_towards_the_smaller_label():
    train = torch.tensor([[0.0, 0, 0], [1, 0, 0], [2, 0, 0], [10, 0, 0], [11, 0, 0], [12, 0, 0],
                          [13, 0, 0], [50, 0, 0]])
    labels = torch.tensor([1, 1, 1, 7, 7, 7, 7, 3])
    queries = torch.tensor([[0.5, 0, 0], [11.5, 0, 0], [5.0, 0, 0], [40, 0, 0]])
    # 5 nearest: 1,1,1,7,7 -> 1 | 7,7,7,7,1 -> 7 | 1,1,1,7,7 -> 1 | 3,7,7,7,7 -> 7
    assert measures.knn_accuracy(train, labels, queries, torch.tensor([1, 7, 1, 7])) == 1.0
    assert measures.knn_accuracy(train, labels, queries, torch.tensor([1, 7, 7, 3])) == 0.5
    tie = torch.tensor([[0.0, 0], [0.1, 0], [5, 0], [5.1, 0], [9, 0]])
    assert measures.knn_accuracy(tie, torch.tensor([4, 4, 2, 2, 0]), torch.tensor([[2.5, 0]]),
                           torch.tensor([2])) == 1.0          # 2 votes each for 4 and 2: 2 wins


def brute_force_neighbours(train, queries, k):
    """The k nearest rows by every distance in float64, sorted: slow and plainly right."""
    distances = (queries.double()[:, None, :] - train.double()[None, :, :]).pow(2).sum(2)
    return distances.argsort(1)[:, :k]


def clustered(n, size, generator):
    """n codes around ten centres, the same ones for each size, as trained codes cluster by
    digit, and their labels; the clusters overlap, so that some votes go wrong."""
    centres = torch.randn(10, size, generator=torch.Generator().manual_seed(size)) * 2
    labels = torch.randint(0, 10, (n,), generator=generator)
    return centres[labels] + torch.randn(n, size, generator=generator), labels


@pytest.mark.parametrize("n, size", [(1000, 1), (1000, 2), (1000, 3), (300, 3), (700, 12),
                                     (500, 100), (3, 2)])
def test_nearest_neighbours_are_the_exact_ones(n, size):
    generator = torch.Generator().manual_seed(n + size)
    train, _ = clustered(n, size, generator)
    queries, _ = clustered(200, size, generator)
    found = measures.nearest_neighbours(train, queries, 5)
    expected = brute_force_neighbours(train, queries, 5)
    assert found.shape == (200, min(5, n))
    # the same set of rows; compared by distance, so that an exact tie may go either way
    distance = lambda rows: (queries[:, None, :].double() - train[rows].double()).pow(2).sum(2)
    assert torch.allclose(distance(found).sort(1).values, distance(expected).sort(1).values,
                          rtol=1e-4, atol=1e-6)
    assert (found.sort(1).values == expected.sort(1).values).float().mean() > 0.99


@pytest.fixture
def reference():
    """scikit-learn, an independent reference: a test-only dependency, so these tests skip without it."""
    pytest.importorskip("sklearn", reason="scikit-learn is a test-only reference: "
                        "pip install scikit-learn (bash .ci/run installs it)")
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
    return types.SimpleNamespace(PCA=PCA, KNeighborsClassifier=KNeighborsClassifier,
                                 NearestNeighbors=NearestNeighbors)


@pytest.mark.parametrize("size", [1, 2, 3, 30])
def test_nearest_neighbours_agree_with_scikit_learn(size, reference):
    generator = torch.Generator().manual_seed(size)
    train, _ = clustered(3000, size, generator)
    queries, _ = clustered(500, size, generator)
    ours = measures.nearest_neighbours(train, queries, 5).sort(1).values
    theirs = reference.NearestNeighbors(n_neighbors=5).fit(train.numpy()).kneighbors(
        queries.numpy(), return_distance=False)
    assert (ours == torch.from_numpy(theirs).sort(1).values).all(1).float().mean() > 0.99


@pytest.mark.parametrize("size", [1, 3, 12])
def test_knn_accuracy_is_scikit_learns_k_neighbours_classifier(size, reference):
    generator = torch.Generator().manual_seed(10 + size)
    train, labels = clustered(4000, size, generator)
    test, test_labels = clustered(1000, size, generator)
    theirs = reference.KNeighborsClassifier(n_neighbors=5).fit(train.numpy(), labels.numpy()).score(
        test.numpy(), test_labels.numpy())
    ours = measures.knn_accuracy(train, labels, test, test_labels)
    assert 0.15 < ours < 1          # chance is 0.1: a test that can tell right votes from wrong
    assert ours == pytest.approx(theirs, abs=2e-3)  # at most 2 of 1000 differ, by a near tie


@pytest.mark.parametrize("components", [1, 3, 30])
def test_pca_is_scikit_learns(components, reference):
    generator = torch.Generator().manual_seed(components)
    # 2000 images of 784 pixels in [0, 1] with a few strong directions, as digits have
    basis = torch.rand(40, 784, generator=generator)
    images = (torch.rand(2000, 40, generator=generator) ** 3 @ basis / 4).clamp(0, 1)
    mean, axes = measures.pca(images, components)
    theirs = reference.PCA(n_components=components, svd_solver="full").fit(images.double().numpy())
    assert torch.allclose(mean.double(), torch.from_numpy(theirs.mean_), atol=1e-5)
    their_axes = torch.from_numpy(theirs.components_.T).float()     # (784, components)
    assert torch.allclose((axes.T @ their_axes).abs(), torch.eye(components), atol=1e-3)
    rebuilt = theirs.inverse_transform(theirs.transform(images.double().numpy()))
    their_loss = ((torch.from_numpy(rebuilt) - images.double()) ** 2).mean().item()
    assert measures.pca_test_loss(images, mean, axes) == pytest.approx(their_loss, rel=1e-4)


def test_the_linear_autoencoder_reaches_pcas_loss(synthetic_mnist):
    root, _ = synthetic_mnist
    images = ae.to_float_images(ae.load_mnist(str(root), download=False)[0], torch.device("cpu"))
    torch.manual_seed(0)
    args = ae.parse_args(["--activation", "linear", "--batch-size", "32"])
    model = ae.AutoEncoder(args.hidden, args.code_size, args.activation)
    optimizer = ae.make_optimizer(model, args.lr)
    history = {"train_losses": [], "epoch_seconds": []}
    for epoch in range(12):
        ae.train(args, model, optimizer, images, epoch, history)
    mean, axes = measures.pca(images, 3)
    pca_loss = measures.pca_test_loss(images, mean, axes)
    assert measures.test_loss(model, images) == pytest.approx(pca_loss, rel=0.02)
    assert measures.test_loss(model, images) >= pca_loss * 0.999  # PCA is the best


def test_per_image_loss_averages_to_the_test_loss():
    torch.manual_seed(0)
    model, images = ae.AutoEncoder(), torch.rand(300, 784)
    losses = measures.per_image_loss(model, images, batch_size=7)
    assert losses.shape == (300,)
    assert losses.double().mean().item() == pytest.approx(measures.test_loss(model, images), rel=1e-5)


@pytest.mark.parametrize("variational", [False, True])
def test_the_helpers_that_need_eval_mode_give_back_the_mode_they_found(variational):
    model = vae.VariationalAutoEncoder(ae.AutoEncoder()) if variational else ae.AutoEncoder()
    images = torch.rand(8, 784)
    figure = ae.LiveFigure(images[:2], show=None)
    helpers = [lambda: measures.codes(model, images), lambda: measures.test_loss(model, images),
               lambda: measures.decode(model, torch.zeros(2, 3)), lambda: measures.reconstruct(model, images),
               lambda: measures.per_image_loss(model, images), lambda: figure.update(model, "now")]
    for training in (True, False):
        for helper in helpers:
            model.train(training)
            helper()
            assert all(m.training == training for m in model.modules()), helper
    ae.plt.close("all")


@pytest.mark.parametrize("flags", [[], ["--variational"], ["--tied"], ["--dropout", "0.5"],
                                   ["--hidden", "32", "--code-size", "5", "--activation", "relu"]])
def test_codes_are_what_the_forward_pass_encodes_in_eval_mode(flags):
    torch.manual_seed(0)
    model = kinds.build(ae.parse_args(flags), ae.AutoEncoder)
    images = torch.rand(2500, 784)
    found = measures.codes(model, images)   # the encoder alone, in batches of 1000
    with torch.no_grad():
        encoded, _ = model.eval()(images)
    assert found.shape == encoded.shape
    assert torch.allclose(found, encoded, atol=1e-6)
