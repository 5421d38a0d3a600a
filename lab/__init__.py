"""The lab beside the lesson: everything autoencoder.py does beyond the tutorial, a module per concern.

autoencoder.py is the lesson and the run's entry point; it imports these modules and calls them
by name (`data.check_data_files(...)`, `kinds.build(...)`), and none of them imports it: run as
`python autoencoder.py` the script is `__main__`, and importing `autoencoder` from here would load
a second copy with a second AutoEncoder class. What a module needs of the lesson it is given:
the AutoEncoder class (kinds.build), loss_func (training.training_loss), the constants
(cli.parse_args), plot_latent (code_sizes.plot_codes). docs/architecture.md draws the imports.

    the command line
      cli          every flag, its checks, --resume's flags; the lists of kept flags
      flags        argparse types, a flag's value as typed, flags.kept: the mark of a flag
                   that a checkpoint keeps and that names a run's folder
      recipes      --recipe: named systems as plain data
      errors       UserError: a user's mistake in one line; the entry point's way out
    the network and its kinds
      network      layers(), the activations, code activation, linear output, He, --l2
      kinds/       one module per kind of autoencoder (denoising, vae, tied, penalties,
                   adversarial, conv): its flags, checks, model and loss terms
    data and training
      data         MNIST's files checked, unpacked and named in one line
      training     the loss, the learning rate's schedule, the log's bookkeeping, Clock
      signals      Ctrl-C, SIGTERM and SIGHUP: stop after the step and save
    after each epoch and at the end
      results      the test loss and checkpoint after an epoch; the files after training
      checkpoints  the checkpoint, files written atomically, a checkpoint read back
      resume       --resume: weights, Adam and history loaded, what goes on said
      runs         each run's folder, one live run in it, runs.csv and compare.png
      tensorboard  --tensorboard's scalars, frames, HParams and projector
    measuring and drawing
      measures     codes, the test loss, exact PCA and k-nearest neighbours
      evaluation   the measures printed and kept in metrics.json; prior.png
      decoder      generated.png, code_grid.png, interpolation.png, worst.png, denoised.png
      anomaly      --train-digits: one-class runs, the AUROC, anomaly.png
      features     --labels: small classifiers taught a few labels, labels.png; similar.png
      code_sizes   codes of other sizes than 3: the live figure's row, flat and PCA scatters
      animations   reconstructions.gif and latent_3d.gif
      frames       the live figure's updates drawn off screen
      display      where the figures go: a window, a notebook, Spyder, files only
"""
