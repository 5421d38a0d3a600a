"""--recipe NAME: named systems as their sources wrote them, plain data: where each comes from, in
one line, and its flags' values. A recipe trains with the squared error per pixel, Adam and
PyTorch's initial weights unless its flags say otherwise; where a recipe differs from its source,
its line says how. Add your own: a name, a line, the flags' values."""
# Hands-On ML's stacked autoencoder, 784-300-150-300-784, as its four recipes below share it
HOML = {"hidden": [300], "code_size": 150, "activation": "elu", "code_activation": "elu",
        "output": "linear", "init": "he", "batch_size": 150}

RECIPES = {
    "tutorial": ("Morvan Zhou's PyTorch tutorial, 404_autoencoder.py: the lesson in autoencoder.py, "
                 "Adam 0.005 (0.001 with --variational, as without the recipe)",
                 {"hidden": [128, 64, 12], "code_size": 3, "activation": "tanh", "batch_size": 64,
                  "epochs": 10}),
    "notes-relu": ("the PyTorch AE/VAE notes' AE: 784-256-64-20, ReLU after every layer but the "
                   "output's, the code's too; Adam 1e-3, batch 32; 10 epochs, not their 1000 (nearly "
                   "2 hours here)",
                   {"hidden": [256, 64], "code_size": 20, "activation": "relu",
                    "code_activation": "relu", "lr": 0.001, "batch_size": 32, "epochs": 10}),
    "notes-vae": ("the PyTorch AE/VAE notes' VAE: the AE's encoder, its 20 outputs split into 10 "
                  "means and 10 standard deviations; the KL term over the batch's pixels added to "
                  "the MSE, that is 1/784 per image; 10 epochs, not their 1000",
                  {"hidden": [256, 64], "code_size": 10, "activation": "relu",
                   "code_activation": "relu", "variational": True, "spread": "std",
                   "kl_weight": 1 / 784, "lr": 0.001, "batch_size": 32, "epochs": 10}),
    "homl-linear": ("Hands-On Machine Learning, ch. 15: a linear autoencoder performs PCA (there "
                    "3-D points to 2 numbers, full batch; here MNIST, batches of 64), Adam 0.01",
                    {"hidden": [], "code_size": 2, "activation": "linear", "lr": 0.01,
                     "batch_size": 64, "epochs": 10}),
    "homl-stacked": ("Hands-On Machine Learning, ch. 15, as seed 002 transcribes it (not the book's "
                     "notebook: see homl-notebook): a stacked autoencoder 784-300-150-300-784, ELU "
                     "(the code's too), a linear output, He initialisation, L2 0.001 on the "
                     "weights; Adam 0.001, batch 150, 30 epochs",
                     {**HOML, "l2": 0.001, "lr": 0.001, "epochs": 30}),
    "homl-tied": ("Hands-On Machine Learning, ch. 15, as seed 002 transcribes it (not the book's "
                  "notebook: see homl-notebook-tied): the stacked autoencoder with tied weights, "
                  "L2 0.001 on the encoder's (so once each); Adam 0.01, batch 150, 5 epochs",
                  {**HOML, "l2": 0.001, "tied": True, "lr": 0.01, "epochs": 5}),
    "homl-notebook": ("Hands-On Machine Learning's own notebook for ch. 15 (ageron/handson-ml, "
                      "15_autoencoders.ipynb): homl-stacked with its settings, Adam 0.01, L2 "
                      "0.0001, batch 150, 5 epochs; it prints a training MSE of about 0.0104",
                      {**HOML, "l2": 0.0001, "lr": 0.01, "epochs": 5}),
    "homl-notebook-tied": ("Hands-On Machine Learning's own notebook for ch. 15: the tied autoencoder "
                           "with its settings, Adam 0.01, L2 0.0005 on the encoder's weights, batch "
                           "150, 5 epochs",
                           {**HOML, "l2": 0.0005, "tied": True, "lr": 0.01, "epochs": 5}),
    "reruns-64": ("a re-run of the tutorial that widens the code to 64 numbers, drawn 8x8",
                  {"code_size": 64}),
    "keras-conv": ("the Keras blog's deep convolutional autoencoder (Chollet, 2016): 3x3 "
                   "convolutions of 16, 8 and 8 channels with ReLU, each with a 2x2 max-pool, so "
                   "the code is the 8x4x4 map, 128 numbers; the decoder mirrors it with upsampling "
                   "(here 4x4 to 7x7 at once, where the blog goes to 8x8 and trims later); "
                   "Glorot's initial weights, cross-entropy, Adadelta as Keras 1.0 set it, batch "
                   "128, 50 epochs; it reports a loss of 0.094",
                   {"conv": True, "channels": [16, 8, 8], "hidden": [], "code_size": 128,
                    "activation": "relu", "loss": "bce", "init": "glorot", "optimizer": "adadelta",
                    "lr": 1.0, "batch_size": 128, "epochs": 50}),
    "keras-denoising-conv": ("the Keras blog's convolutional denoising autoencoder: 32 and 32 "
                             "channels, so the code is the 32x7x7 map (1,568 numbers, more than "
                             "the pixels: it learns to clean, not to compress); Gaussian noise of "
                             "0.5 clipped to 0-1, drawn afresh each batch (the blog makes one noisy "
                             "copy of the training set); Glorot's initial weights, cross-entropy, "
                             "Adadelta as Keras 1.0 set it, batch 128, 100 epochs",
                             {"conv": True, "channels": [32, 32], "hidden": [], "code_size": 1568,
                              "activation": "relu", "noise": 0.5, "loss": "bce", "init": "glorot",
                              "optimizer": "adadelta", "lr": 1.0, "batch_size": 128, "epochs": 100}),
    "keras-sparse": ("the Keras blog's sparse autoencoder: one layer of 32 ReLU numbers with an "
                     "L1 activity penalty of 10e-5 (1e-4), a sigmoid output; Glorot's initial "
                     "weights, cross-entropy, Adadelta as Keras 1.0 set it, batch 256, 100 epochs; "
                     "it reports a mean code of 3.33 (7.30 without the penalty, 50 epochs)",
                     {"hidden": [], "code_size": 32, "activation": "relu", "code_activation": "relu",
                      "sparsity": 1e-4, "loss": "bce", "init": "glorot", "optimizer": "adadelta",
                      "lr": 1.0, "batch_size": 256, "epochs": 100}),
    "hinton2006": ("the reproduction of Hinton & Salakhutdinov (2006) in docs/the-2006-table.md: "
                   "784-1000-500-250-30 ELU, cross-entropy, one-cycle to 0.002, batch 128, 40 epochs",
                   {"hidden": [1000, 500, 250], "code_size": 30, "activation": "elu",
                    "batch_size": 128, "lr": 0.002, "schedule": "onecycle", "loss": "bce",
                    "epochs": 40}),
}


def use_recipe(args, given):
    """The recipe's flag values in args, but for the flags given (the names of flags_given)."""
    for name, value in RECIPES[args.recipe][1].items():
        if name not in given:   # a copy: a run must not change the recipe's lists
            setattr(args, name, list(value) if isinstance(value, list) else value)
