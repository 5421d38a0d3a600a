"""How good are the codes: the exact PCA and nearest-neighbour search against plain arithmetic
and against scikit-learn, an independent reference (a test-only dependency: skip without it)."""
import pytest
import torch

import autoencoder as ae


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
    found = ae.nearest_neighbours(train, queries, 5)
    expected = brute_force_neighbours(train, queries, 5)
    assert found.shape == (200, min(5, n))
    # the same set of rows; compared by distance, so that an exact tie may go either way
    distance = lambda rows: (queries[:, None, :].double() - train[rows].double()).pow(2).sum(2)
    assert torch.allclose(distance(found).sort(1).values, distance(expected).sort(1).values,
                          rtol=1e-4, atol=1e-6)
    assert (found.sort(1).values == expected.sort(1).values).float().mean() > 0.99


sklearn = pytest.importorskip("sklearn", reason="scikit-learn is a test-only reference: "
                              "pip install scikit-learn (bash .ci/run installs it)")
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors  # noqa: E402


@pytest.mark.parametrize("size", [1, 2, 3, 30])
def test_nearest_neighbours_agree_with_scikit_learn(size):
    generator = torch.Generator().manual_seed(size)
    train, _ = clustered(3000, size, generator)
    queries, _ = clustered(500, size, generator)
    ours = ae.nearest_neighbours(train, queries, 5).sort(1).values
    theirs = NearestNeighbors(n_neighbors=5).fit(train.numpy()).kneighbors(
        queries.numpy(), return_distance=False)
    assert (ours == torch.from_numpy(theirs).sort(1).values).all(1).float().mean() > 0.99


@pytest.mark.parametrize("size", [1, 3, 12])
def test_knn_accuracy_is_scikit_learns_k_neighbours_classifier(size):
    generator = torch.Generator().manual_seed(10 + size)
    train, labels = clustered(4000, size, generator)
    test, test_labels = clustered(1000, size, generator)
    theirs = KNeighborsClassifier(n_neighbors=5).fit(train.numpy(), labels.numpy()).score(
        test.numpy(), test_labels.numpy())
    ours = ae.knn_accuracy(train, labels, test, test_labels)
    assert 0.15 < ours < 1          # chance is 0.1: a test that can tell right votes from wrong
    assert ours == pytest.approx(theirs, abs=2e-3)  # at most 2 of 1000 differ, by a near tie


@pytest.mark.parametrize("components", [1, 3, 30])
def test_pca_is_scikit_learns(components):
    generator = torch.Generator().manual_seed(components)
    # 2000 images of 784 pixels in [0, 1] with a few strong directions, as digits have
    basis = torch.rand(40, 784, generator=generator)
    images = (torch.rand(2000, 40, generator=generator) ** 3 @ basis / 4).clamp(0, 1)
    mean, axes = ae.pca(images, components)
    reference = PCA(n_components=components, svd_solver="full").fit(images.double().numpy())
    assert torch.allclose(mean.double(), torch.from_numpy(reference.mean_), atol=1e-5)
    their_axes = torch.from_numpy(reference.components_.T).float()     # (784, components)
    assert torch.allclose((axes.T @ their_axes).abs(), torch.eye(components), atol=1e-3)
    rebuilt = reference.inverse_transform(reference.transform(images.double().numpy()))
    their_loss = ((torch.from_numpy(rebuilt) - images.double()) ** 2).mean().item()
    assert ae.pca_test_loss(images, mean, axes) == pytest.approx(their_loss, rel=1e-4)
