"""Draw docs/paper_2006.png in the style of Hinton & Salakhutdinov (2006), figure 2B: one test
digit of each class, the same digits rebuilt by a trained autoencoder (its autoencoder.pt), and
rebuilt by PCA with as many components as its code has numbers, fitted on the training images.

    python autoencoder.py --no-show <the recipe's flags> --out-dir results/2006
    python docs/paper_figure.py --checkpoint results/2006/autoencoder.pt --data-dir ./mnist/

Each row's label gives its squared error per test image (the sum over 784 pixels), the paper's
unit, over all 10,000 test images.
"""
import argparse
import os
import sys

import torch

DOCS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(DOCS))
import autoencoder as ae  # noqa: E402
from lab import decoder, errors, kinds, measures  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="the autoencoder.pt of a run")
    parser.add_argument("--data-dir", default=ae.DATA_DIR, help="MNIST root (default: %(default)s)")
    parser.add_argument("--out", default=os.path.join(DOCS, "paper_2006.png"),
                        help="the picture to write (default: docs/paper_2006.png)")
    args = parser.parse_args()
    checkpoint = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    config = argparse.Namespace(**checkpoint["config"])
    autoencoder = kinds.build(config, ae.AutoEncoder)
    autoencoder.load_state_dict(checkpoint["model"])

    device = torch.device("cpu")
    with errors.in_one_line():  # MNIST missing or damaged: one line, as autoencoder.py says it
        images = ae.to_float_images(ae.load_mnist(args.data_dir, download=False)[0], device)
        test_x, test_y = ae.load_mnist(args.data_dir, train=False, download=False)
    test_images = ae.to_float_images(test_x, device)
    mean, axes = measures.pca(images, config.code_size)
    shown = [test_y.tolist().index(digit) for digit in range(10)]     # the first test image of each
    x = test_images[shown]
    by_pca = measures.pca_codes(x, mean, axes) @ axes.T + mean
    rows = {"test images": None,
            "autoencoder": measures.per_image(measures.test_loss(autoencoder, test_images)),
            f"PCA, {config.code_size}\ncomponents": measures.per_image(
                measures.pca_test_loss(test_images, mean, axes))}
    labels = [name if error is None else f"{name}\n{error:.2f} per image" for name, error in rows.items()]
    shape = "-".join(map(str, [784, *config.hidden, config.code_size]))
    fig = decoder.plot_mosaic(torch.cat([x, measures.reconstruct(autoencoder, x), by_pca]), 10,
                         f"Rebuilt from {config.code_size} numbers: autoencoder {shape}, PCA\n"
                         "(squared error per image, over all 10,000 test images)", row_labels=labels)
    fig.savefig(args.out, dpi=110)
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
