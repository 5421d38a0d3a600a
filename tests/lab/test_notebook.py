"""In a notebook (lab/display.py): a real Jupyter kernel runs the script, as a learner's notebook
or Colab does. ipykernel and jupyter_client are test-only dependencies (bash .ci/run installs them)."""
import base64
import io
import os

import numpy as np
import PIL.Image
import pytest

from conftest import REPO

pytest.importorskip("ipykernel", reason="a notebook test needs ipykernel: pip install ipykernel "
                    "jupyter_client (bash .ci/run installs them)")
jupyter_client = pytest.importorskip("jupyter_client", reason="a notebook test needs "
                                     "jupyter_client: pip install jupyter_client")


@pytest.fixture(scope="module", params=["", ":99"], ids=["no screen", "a screen"])
def kernel(request):
    """A real IPython kernel in the repository with the inline backend that Jupyter gives it,
    without a screen (as Colab) and with one (DISPLAY set, as a desktop: the inline backend must
    still win over windows); yields a function that runs a cell and returns its messages."""
    manager = jupyter_client.KernelManager(kernel_name="python3")
    env = {"DISPLAY": request.param, "WAYLAND_DISPLAY": "", "MPLBACKEND": ""}
    manager.start_kernel(cwd=str(REPO), env={**os.environ, **env})
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=120)

    def run(code, timeout=300, interrupt_after=None):
        """Run a cell; with interrupt_after=N, press the notebook's Interrupt (SIGINT, as Kernel >
        Interrupt does) once the live grid has been updated N times."""
        messages = []

        def hook(message):
            messages.append(message)
            updates = [m for m in messages if m["msg_type"] == "update_display_data"]
            if message["msg_type"] == "update_display_data" and len(updates) == interrupt_after:
                manager.interrupt_kernel()
        reply = client.execute_interactive(code, timeout=timeout, output_hook=hook)
        return reply["content"], messages
    yield run
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def png_of(message):
    return PIL.Image.open(io.BytesIO(base64.b64decode(message["content"]["data"]["image/png"])))


def test_the_live_grid_updates_in_place_and_the_scatter_follows(kernel, synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    reply, messages = kernel(f"%run autoencoder.py --epochs 2 --batch-size 8 --data-dir {root} "
                             f"--out-dir {tmp_path} --no-download")
    assert reply["status"] == "ok", reply
    kinds = [m["msg_type"] for m in messages]
    assert "error" not in kinds
    shown = [m for m in messages if m["msg_type"] == "display_data"]
    updates = [m for m in messages if m["msg_type"] == "update_display_data"]
    # the live grid: one display, then updated in place (250 steps: 0, 100, 200 in 2 epochs, and the end)
    grid_id = shown[0]["content"]["transient"]["display_id"]
    assert len(updates) >= 5 and all(m["content"]["transient"]["display_id"] == grid_id for m in updates)
    first, last = np.asarray(png_of(shown[0])), np.asarray(png_of(updates[-1]))
    assert first.shape == last.shape and (first != last).any()      # the reconstructions changed
    # after training, the 3-D scatter once, as a picture of its own
    assert len(shown) == 2 and "image/png" in shown[1]["content"]["data"]
    assert png_of(shown[1]).size[0] > 300
    assert kinds.index("update_display_data") < len(kinds) - kinds[::-1].index("display_data")
    text = "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")
    assert "Epoch:  1 | train loss" in text and "Wrote " in text
    assert (tmp_path / "latent_3d.png").exists() and (tmp_path / "reconstructions.gif").exists()
    # and the kernel goes on: the notebook's own plots still show inline afterwards
    reply, messages = kernel("import matplotlib.pyplot as plt; plt.plot([1, 2]); plt.show()")
    assert reply["status"] == "ok" and any(m["msg_type"] == "display_data" for m in messages)


def test_main_in_a_cell_and_no_show_shows_nothing_inline(kernel, synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist
    reply, messages = kernel("import autoencoder\n"
                             f"autoencoder.main(['--epochs', '1', '--data-dir', '{root}', "
                             f"'--out-dir', '{tmp_path}', '--no-download', '--no-show', '--no-gif'])")
    assert reply["status"] == "ok", reply
    assert not [m for m in messages if m["msg_type"] in ("display_data", "update_display_data")]
    assert (tmp_path / "latent_3d.png").exists()


def test_the_notebooks_interrupt_stops_training_and_keeps_the_checkpoint(kernel, synthetic_mnist,
                                                                        tmp_path):
    root, _ = synthetic_mnist
    reply, messages = kernel(f"%run autoencoder.py --epochs 3 --batch-size 4 --data-dir {root} "
                             f"--out-dir {tmp_path} --no-download", interrupt_after=2)
    stderr = "".join(m["content"]["text"] for m in messages
                     if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
    assert "Ctrl-C: stopping after this step to save the model" in stderr
    assert "Stopped in epoch 0 at step" in stderr and "go on with --resume" in stderr
    assert (tmp_path / "autoencoder.pt").exists() and (tmp_path / "metrics.json").exists()
    for error in (m["content"] for m in messages if m["msg_type"] == "error"):
        assert error["ename"] == "SystemExit" and "Traceback" not in "".join(error["traceback"])
    reply, messages = kernel("print(6 * 7)")
    assert reply["status"] == "ok"


@pytest.mark.parametrize("cell", ["%run autoencoder.py --epochs 0",
                                  "import autoencoder\nautoencoder.main(['--epochs', '0'])"])
def test_a_bad_flag_ends_the_cell_in_one_line_and_the_kernel_goes_on(kernel, cell):
    reply, messages = kernel(cell)
    stderr = "".join(m["content"]["text"] for m in messages
                     if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
    assert "error: argument --epochs: 0 is not allowed" in stderr
    errors = [m["content"] for m in messages if m["msg_type"] == "error"]
    # IPython reports the exit code; nothing of the script's insides is shown
    for error in errors:
        assert error["ename"] == "SystemExit" and "autoencoder.py" not in "".join(error["traceback"])
        assert "Traceback" not in "".join(error["traceback"])
    reply, messages = kernel("print(6 * 7)")
    assert reply["status"] == "ok" and any("42" in m["content"].get("text", "") for m in messages)
