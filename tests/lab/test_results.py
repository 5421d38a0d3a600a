"""What a run writes beside training (lab/results.py): loss.png says what the train loss holds,
and --no-gif leaves the animations out and no figure open."""
import autoencoder as ae
from lab import results


def test_loss_png_says_what_the_train_loss_holds_beside_the_squared_error():
    history = {"train_losses": [{"epoch": 0, "step": 0, "loss": 0.1}], "test_loss": [0.05]}
    for argv, says in [([], None), (["--recipe", "homl-stacked"], "the squared error + the L2 penalty"),
                       (["--recipe", "notes-vae"], "the squared error + the KL term"),
                       (["--recipe", "hinton2006"], "the cross-entropy")]:
        fig = results.plot_losses(history, 10, objective=results.objective(ae.parse_args(argv)))
        labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
        assert labels[0] == "train, every 100 steps" + (f" (its loss: {says})" if says else "")
        assert fig.axes[0].get_ylabel() == ("loss per pixel" if says else "mean squared error per pixel")
        ae.plt.close(fig)
    fig = results.plot_losses(history, 10, log_every=50)    # the lesson's LOG_EVERY, passed in
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == "train, every 50 steps"
    ae.plt.close(fig)


def test_no_gif_skips_the_animations_and_no_figure_is_left_open(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    ae.main(["--epochs", "1", "--data-dir", str(root), "--out-dir", str(tmp_path), "--no-show",
             "--no-gif"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "autoencoder.pt", "code_grid.png", "generated.png", "interpolation.png", "latent_3d.png",
        "loss.png", "metrics.json", "reconstructions.png", "similar.png", "worst.png"]
    assert ae.plt.get_fignums() == []
