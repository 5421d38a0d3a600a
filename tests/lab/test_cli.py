"""The command line (lab/cli.py): flags over the lesson's constants, --help, bad values and flags
that cannot go together in one line (a UserError of status 2, which main() prints); the device."""
import os
import re
import subprocess
import sys

import pytest
import torch

import autoencoder as ae
from conftest import REPO, flag_error, headless_env, run_script


def test_flags_override_the_constants():
    args = ae.parse_args(["--epochs", "2", "--batch-size", "128", "--lr", "1e-3", "--n-test-img", "8",
                          "--seed", "7", "--device", "cpu", "--data-dir", "d", "--out-dir", "o",
                          "--no-download", "--no-show"])
    assert vars(args) == {"epochs": 2, "batch_size": 128, "lr": 0.001, "n_test_img": 8, "seed": 7,
                          "device": "cpu", "data_dir": "d", "out_dir": "o", "download": False,
                          "no_show": True, "loss": "mse", "schedule": "constant", "noise": 0.0, "dropout": 0.0, "variational": False,
                          "kl_weight": 0.001, "tied": False, "resume": None, "explore": None, "gif": True,
                          "hidden": [128, 64, 12], "code_size": 3, "activation": "tanh",
                          "weight_decay": 0.0, "schedule_start": 0, "recipe": None,
                          "code_activation": "none", "output": "sigmoid", "init": "pytorch",
                          "l2": 0.0, "spread": "log-variance", "train_digits": list(range(10)), "labels": 0,
                          "conv": False, "channels": [16, 32], "sparsity": 0.0, "contractive": 0.0,
                          "adversarial": False, "name": None, "tensorboard": False, "optimizer": "adam",
                          "changed": "--batch-size 128 --lr 0.001 --seed 7"}


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit) as exit_info:
        ae.parse_args(["--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for flag, default in [("--epochs", "10"), ("--batch-size", "64"), ("--lr", "0.005"),
                          ("--n-test-img", "5"), ("--seed", "1"), ("--device", "auto"),
                          ("--data-dir", "./mnist/"),
                          ("--noise", "0.0"), ("--dropout", "0.0"), ("--kl-weight", "0.001"),
                          ("--hidden", "128,64,12"), ("--code-size", "3"), ("--activation", "tanh"),
                          ("--weight-decay", "0.0"), ("--loss", "mse"), ("--schedule", "constant")]:
        assert re.search(rf"{flag} \S+ .*?\(default: {re.escape(default)}[),]", text), flag
    assert "--no-download" in text and "--no-show" in text
    assert "--out-dir DIR folder for the pictures, animations, checkpoint and metrics.json (default: " \
           "a folder in ./results/ named after the flags that change the run" in text


@pytest.mark.parametrize("argv, flag", [
    (["--epochs", "0"], "--epochs"), (["--epochs", "ten"], "--epochs"), (["--epochs", "1.5"], "--epochs"),
    (["--batch-size", "-64"], "--batch-size"), (["--lr", "0"], "--lr"), (["--lr", "nan"], "--lr"),
    (["--lr", "inf"], "--lr"), (["--n-test-img", "0"], "--n-test-img"),
    (["--n-test-img", "21"], "--n-test-img"), (["--device", "tpu"], "--device"),
    (["--noise", "-0.1"], "--noise"), (["--dropout", "1"], "--dropout"),
    (["--kl-weight", "nan"], "--kl-weight"), (["--hidden", "0"], "--hidden"),
    (["--hidden", "12,abc"], "--hidden"), (["--hidden", "128,,12"], "--hidden"),
    (["--code-size", "0"], "--code-size"), (["--code-size", "785"], "--code-size"),
    (["--activation", "foo"], "--activation"), (["--weight-decay", "-0.001"], "--weight-decay"),
    (["--loss", "l1"], "--loss"), (["--loss", "bce", "--activation", "linear"], "--loss"),
    (["--schedule", "step"], "--schedule"), (["--loss", "bce", "--output", "linear"], "--loss"),
    (["--recipe", "homl-stacked", "--loss", "bce"], "--loss"), (["--spread", "std"], "--spread"),
    (["--l2", "-1"], "--l2"), (["--init", "xavier"], "--init"), (["--code-activation", "linear"],
                                                                 "--code-activation"),
])
def test_a_bad_flag_is_one_line_naming_it(argv, flag, capsys):
    assert flag in flag_error(argv, capsys)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_cuda_without_it_says_what_to_use(capsys):
    assert "--device cpu" in flag_error(["--device", "cuda"], capsys)


FAKE_GPU = REPO / "tests" / "fake_gpu"      # its sitecustomize.py makes torch see a GPU


def with_a_fake_gpu(**extra):
    """The environment of a machine whose torch sees a CUDA GPU (tests/fake_gpu/sitecustomize.py)."""
    return headless_env(PYTHONPATH=os.pathsep.join([str(FAKE_GPU), str(REPO)]), **extra)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a real GPU: auto uses it")
def test_with_a_gpu_auto_picks_it(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    result = run_script("--data-dir", root, "--out-dir", tmp_path, "--no-show", "--epochs", 1,
                        env=with_a_fake_gpu())
    assert result.stdout.startswith("Device: cuda\n")    # then fails: there is no GPU behind it
    assert result.returncode != 0 and re.search("NVIDIA driver|not compiled with CUDA", result.stderr)
    cpu = run_script("--data-dir", root, "--out-dir", tmp_path, "--no-show", "--no-gif", "--epochs", 1,
                     "--device", "cpu", env=with_a_fake_gpu())
    assert cpu.returncode == 0 and cpu.stdout.startswith("Device: cpu\n"), cpu.stderr


# the tests that need the CPU's determinism, or its device name: each asks for --device cpu, and so
# passes on a machine with a GPU; the others check what holds on any device
NEED_THE_CPU = ["lab/test_main.py::test_two_cpu_runs_with_one_seed_are_identical",
                "lab/test_main.py::test_main_twice_in_one_process_leaves_it_as_it_found_it",
                "lab/test_decoder.py::test_a_denoising_run_on_real_mnist_takes_noise_away"]


def test_the_tests_that_need_the_cpu_ask_for_it_and_pass_beside_a_gpu(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             *NEED_THE_CPU, "--basetemp", str(tmp_path)],
                            cwd=REPO / "tests", env=with_a_fake_gpu(), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]
    # all 3, or 2 and the real-MNIST one skipped where MNIST is not here
    assert re.search(r"^(3 passed|2 passed, 1 skipped)\b", result.stdout.splitlines()[-1]), \
        result.stdout[-1000:]


def test_name_and_out_dir_together_are_one_line(capsys):
    assert flag_error(["--name", "mine", "--out-dir", "elsewhere"], capsys).endswith(
        "error: argument --name: --out-dir names the folder already: use --name or --out-dir")
