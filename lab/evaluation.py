"""After training: the codes against PCA's, what each kind of autoencoder aims at, the
decoder's pictures, the search by similarity, anomaly detection and reading digits from a few
labels, all printed and kept for metrics.json."""
import math

import matplotlib.figure
import torch

from lab import anomaly, checkpoints, code_sizes, decoder, features, measures
from lab.kinds import penalties
from lab.measures import K_NEIGHBOURS, codes

NEAR_ZERO = 0.01        # a code number closer to 0 than this counts as off (what --sparsity aims at)
N_JACOBIAN = 1000       # test digits whose Jacobian is measured (what --contractive aims at)
N_PRIOR = 2000          # test codes drawn over the prior's circles, prior.png
SMALL_NOISE = 0.05      # std of the noise that shows how far codes move with their input


def evaluate_all(args, autoencoder, data, metrics, clock):
    """The codes against PCA's, and the decoder's pictures; their numbers go into metrics.
    Returns the names of the pictures written."""
    images, train_y, test_images, test_y = data
    clock.lap("pictures")
    train_codes = codes(autoencoder, images)    # (60000, code size), for all below
    pca = measures.pca(images, min(train_codes.shape[1], 28 * 28))  # PCA of 784 rebuilds every image
    metrics.update(evaluate(autoencoder, train_codes, pca, images, train_y, test_images, test_y,
                            metrics["test_loss"][-1]))
    if args.loss == "bce":  # the loss it trained on, in the unit the Keras blog reports
        metrics["test_cross_entropy"] = measures.per_image_loss(autoencoder, test_images, "bce").mean().item()
        print(f"Test cross-entropy per pixel, the loss it trained on: {metrics['test_cross_entropy']:.4f}")
    metrics.update(code_measures(args, autoencoder, test_images, torch.Generator().manual_seed(args.seed)))
    clock.lap("evaluation")
    pictures, found = decoder.decoder_pictures(args, autoencoder, train_codes, test_images, test_y)
    metrics.update(found)
    pictures.append(features.similar_digits(args, autoencoder, train_codes, data))  # search by similarity
    if args.adversarial:    # the codes beside the prior they were pulled towards
        fig = plot_prior(codes(autoencoder, test_images).cpu(), test_y.cpu())
        checkpoints.save_atomically(checkpoints.out_path(args, "prior.png"), lambda path: fig.savefig(path, dpi=100))
        pictures.append("prior.png")
    if len(args.train_digits) < 10:     # below: how well its error spots the digits it never saw
        found = anomaly.detect_anomalies(args, autoencoder, test_images, test_y)
        metrics.update(found)
        pictures += ["anomaly.png"] * bool(found)
    if args.labels:     # below: how well the codes read digits from a few labels
        clock.lap("pictures")
        written, found = features.evaluate(args, autoencoder, data, train_codes, pca)
        metrics.update(found)
        pictures += written
        clock.lap("classifiers")
    return pictures


def evaluate(autoencoder, train_codes, pca, images, labels, test_images, test_labels, test_loss):
    """test_loss and the kNN accuracy of the codes, beside those of PCA (mean and axes, as many
    components as the code has numbers), and the mean image's test loss; printed too.

    The labels are used here only, never in training.
    """
    mean, axes = pca
    size = axes.shape[1]
    pca_train, pca_test = measures.pca_codes(images, mean, axes), measures.pca_codes(test_images, mean, axes)
    results = {
        "final_test_loss": test_loss,
        "pca_test_loss": measures.pca_test_loss(test_images, mean, axes),
        "mean_image_test_loss": measures.pca_test_loss(test_images, mean, axes[:, :0]),   # 0 components
    }
    trained = labels.unique().tolist()
    if trained == test_labels.unique().tolist():    # otherwise no vote can name the other digits
        results["knn_accuracy"] = measures.knn_accuracy(train_codes, labels, codes(autoencoder, test_images),
                                               test_labels)
        results["pca_knn_accuracy"] = measures.knn_accuracy(pca_train, labels, pca_test, test_labels)
    errors = []
    for name in ("final_test", "pca_test", "mean_image_test"):
        errors.append(measures.per_image(results[f"{name}_loss"]))
        results[f"{name}_error_per_image"] = errors[-1]
    print(f"Test MSE per pixel: autoencoder {test_loss:.4f} | PCA, {code_sizes.plural(size, 'component')} "
          "{pca_test_loss:.4f} | the mean image {mean_image_test_loss:.4f}".format(**results))
    print("Test squared error per image, the sum over its 784 pixels (the unit of Hinton & "
          f"Salakhutdinov, 2006): autoencoder {errors[0]:.2f} | PCA, {code_sizes.plural(size, 'component')} "
          f"{errors[1]:.2f} | the mean image {errors[2]:.2f}")
    if "knn_accuracy" not in results:
        print(f"{K_NEIGHBOURS}-nearest-neighbour accuracy: skipped: the training codes are of the "
              f"digits {', '.join(map(str, trained))} only, so their votes cannot name the others")
        return results
    print(f"{K_NEIGHBOURS}-nearest-neighbour accuracy of the {code_sizes.plural(train_codes.shape[1], 'number')} on the test "
          f"digits: autoencoder {results['knn_accuracy']:.1%} | PCA {results['pca_knn_accuracy']:.1%}")
    return results


def code_measures(args, autoencoder, test_images, generator):
    """What --sparsity, --contractive and --adversarial aim at, on the test digits: how many code
    numbers are near 0; the Jacobian's norm and how far small noise moves the codes (against the
    codes' spread: a code can shrink without sorting digits any better); how far the codes' mean
    and covariance are from the prior's 0 and I. Printed for the variant that aims at each."""
    test_codes = codes(autoencoder, test_images).cpu()
    k = test_codes.shape[1]
    found = {"code_mean_abs": test_codes.abs().mean().item(),
             "code_near_zero": (test_codes.abs() < NEAR_ZERO).float().mean().item(),
             "code_mean_distance": test_codes.mean(0).norm().item(),
             "code_covariance_distance": (torch.cov(test_codes.T).reshape(k, k) - torch.eye(k)).norm().item()}
    if k <= 64 or args.contractive:     # one backward pass per code number
        x = test_images[:N_JACOBIAN]
        found["jacobian_norm"] = jacobian_norms(autoencoder, x).mean().item()
        noisy = x + SMALL_NOISE * torch.randn(x.shape, generator=generator).to(x)
        moved = (codes(autoencoder, noisy) - codes(autoencoder, x)).norm(dim=1).mean()
        found["code_shift"] = (moved.cpu() / (test_codes - test_codes.mean(0)).norm(dim=1).mean()).item()
    if args.sparsity:
        print(f"Sparsity of the test codes: mean |number| {found['code_mean_abs']:.3f}, "
              f"{found['code_near_zero']:.1%} of the numbers within {NEAR_ZERO} of 0")
    if args.contractive:
        print(f"Contraction on the test digits: dcode/dpixels has a mean norm of "
              f"{found['jacobian_norm']:.3f}; noise of std {SMALL_NOISE} moves a code by "
              f"{found['code_shift']:.1%} of the codes' mean distance from their mean")
    if args.adversarial or args.variational:
        print(f"The test codes against the prior N(0, I): their mean is {found['code_mean_distance']:.3f} "
              f"from 0, their covariance {found['code_covariance_distance']:.3f} from I (Frobenius)")
    return found


def plot_prior(test_codes, labels, n=N_PRIOR):
    """The first two code numbers of n test digits over the prior's circles of 1, 2 and 3
    standard deviations (39 %, 86 % and 99 % of its draws), and each number's histogram against
    the prior's density."""
    fig = matplotlib.figure.Figure(figsize=(10, 4.6), layout="constrained")     # a file only
    scatter, histogram = fig.subplots(1, 2)
    xy = test_codes[:n, :2] if test_codes.shape[1] > 1 else torch.cat(
        [test_codes[:n], torch.zeros(min(n, len(test_codes)), 1)], 1)
    scatter.scatter(*xy.T, c=labels[:n], cmap="rainbow", s=6, vmin=0, vmax=9)
    angle = torch.linspace(0, 2 * math.pi, 200)
    for radius in (1, 2, 3):
        scatter.plot(radius * angle.cos(), radius * angle.sin(), "k--", lw=0.8)
    scatter.set(aspect="equal", xlabel="code 1", ylabel="code 2",
                title=f"{len(xy)} test codes (colour: digit) and the prior's circles")
    bins = torch.linspace(-4, 4, 61)
    for j in range(min(3, test_codes.shape[1])):
        histogram.hist(test_codes[:, j].clamp(-4, 4), bins=bins.numpy(), density=True,
                       histtype="step", label=f"code {j + 1}")
    histogram.plot(bins, (-bins ** 2 / 2).exp() / math.sqrt(2 * math.pi), "k--", label="N(0, 1)")
    histogram.set(xlabel="value", ylabel="density", title="Each number's spread against the prior's")
    histogram.legend(fontsize=8)
    return fig


def jacobian_norms(autoencoder, images, batch_size=100):
    """The Frobenius norm of each image's Jacobian dcode/dpixels, (N,), in eval mode."""
    norms = []
    with measures.evaluating(autoencoder), torch.enable_grad():
        for x in images.split(batch_size):
            x = x.detach().requires_grad_()
            norms.append(penalties.jacobian_norm2(autoencoder.encoder(x), x).detach().sqrt().cpu())
    return torch.cat(norms)
