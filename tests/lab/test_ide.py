"""From an IDE (lab/display.py): PyCharm's plot pane shows still pictures only (a stand-in for its backend,
backend_interagg, whose show() sends a PNG and forgets the figure); Spyder's console adds each
picture to its Plots pane (a real spyder-kernels kernel, a test-only dependency)."""
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import REPO, headless_env, run_script, start_script

STAND_IN = '''
import os
from matplotlib._pylab_helpers import Gcf
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg


class FigureCanvasStill(FigureCanvasAgg):
    def show(self):
        folder = os.environ["STILLS_DIR"]
        self.print_png(os.path.join(folder, f"still{len(os.listdir(folder))}.png"))


class FigureManagerStill(FigureManagerBase):
    def show(self, **kwargs):      # a snapshot to the IDE, then the figure is forgotten
        self.canvas.show()
        Gcf.destroy(self.num)


FigureCanvas, FigureManager = FigureCanvasStill, FigureManagerStill


def show(*args, **kwargs):
    for manager in Gcf.get_all_fig_managers():
        manager.show()
'''


@pytest.fixture
def ide_backends(tmp_path):
    """A folder to put on PYTHONPATH with PyCharm's stand-in (backend_interagg), the same under a
    name the script cannot know (backend_stills), and a backend that cannot show at all."""
    folder = tmp_path / "backends"
    folder.mkdir()
    (folder / "backend_interagg.py").write_text(STAND_IN)
    (folder / "backend_stills.py").write_text(STAND_IN)
    (folder / "backend_files.py").write_text(
        "from matplotlib.backends.backend_agg import FigureCanvasAgg as FigureCanvas\n"
        "from matplotlib.backend_bases import FigureManagerBase as FigureManager\n")
    (tmp_path / "stills").mkdir()
    return {"PYTHONPATH": str(folder), "STILLS_DIR": str(tmp_path / "stills")}


def ide_run(root, out, env, *flags):
    return run_script("--epochs", 1, "--batch-size", 16, "--data-dir", root, "--out-dir", out,
                      "--no-gif", *flags, env=env, timeout=300)


@pytest.mark.parametrize("backend", ["backend_interagg", "backend_stills"])
def test_a_pane_of_still_pictures_without_a_screen_means_files_and_one_line(
        synthetic_mnist, tmp_path, ide_backends, backend):
    root, _ = synthetic_mnist
    result = ide_run(root, tmp_path / "out", headless_env(MPLBACKEND=f"module://{backend}",
                                                          **ide_backends))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("note: ") and "shows still pictures only" in result.stderr
    assert "without a screen no window can open" in result.stderr
    assert ("PyCharm's plot pane" in result.stderr) == (backend == "backend_interagg")
    assert (tmp_path / "out" / "reconstructions.png").exists()
    assert (tmp_path / "out" / "latent_3d.png").exists()


def test_with_a_screen_but_no_window_toolkit_the_line_says_how_to_get_one(
        synthetic_mnist, tmp_path, ide_backends):
    root, _ = synthetic_mnist      # tkinter made to fail; Qt, GTK and wx are not installed here
    (tmp_path / "backends" / "tkinter.py").write_text("raise ImportError('no tkinter here')\n")
    env = headless_env(MPLBACKEND="module://backend_interagg", DISPLAY=":424242", **ide_backends)
    result = ide_run(root, tmp_path / "out", env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "no window toolkit loads here" in result.stderr and "install tkinter or PyQt6" in result.stderr
    assert "untick Settings > Tools > Python Scientific > Show plots in tool window" in result.stderr
    assert (tmp_path / "out" / "latent_3d.png").exists()


def test_a_backend_that_cannot_show_means_files_without_a_word(synthetic_mnist, tmp_path, ide_backends):
    root, _ = synthetic_mnist
    env = headless_env(MPLBACKEND="module://backend_files", DISPLAY=":424242", **ide_backends)
    result = ide_run(root, tmp_path / "out", env)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert (tmp_path / "out" / "latent_3d.png").exists()


WINDOW_TOOLS = ("Xvfb", "import", "xdotool")


@pytest.mark.skipif(not all(shutil.which(tool) for tool in WINDOW_TOOLS),
                    reason="needs Xvfb, ImageMagick's import and xdotool: apt-get install xvfb "
                    "imagemagick xdotool")
def test_pycharms_pane_gives_way_to_a_tk_window_that_animates(synthetic_mnist, tmp_path, ide_backends):
    pytest.importorskip("tkinter", reason="the window test needs tkinter")
    from test_window import screenshot, windows
    root, _ = synthetic_mnist
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x900x24", "-nolisten",
                             "tcp"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    display = ":" + xvfb.stdout.readline().strip()
    try:
        env = headless_env(MPLBACKEND="module://backend_interagg", DISPLAY=display, **ide_backends)
        run = start_script("--data-dir", root, "--out-dir", tmp_path / "out", "--epochs", 30,
                           "--batch-size", 16, "--no-gif", env=env)
        first = changed = None
        for line in run.stdout:     # the window's picture a few updates on differs from the first
            if line.startswith("Epoch:  3 | train loss"):
                first = screenshot(display, tmp_path / "first.png")
                assert len(windows(display)) == 1 and first.std() > 0.1, "no live window drawn"
            elif first is not None and "train loss" in line:
                later = screenshot(display, tmp_path / "later.png")
                changed = (abs(later - first) > 0.1).any(2).sum()   # the title, the reconstructions
                if changed > 200 or line.startswith("Epoch:  25"):
                    break
        assert changed > 200, "the live window does not animate"
        for line in run.stdout:
            if line.startswith("Wrote"):
                break
        time.sleep(2)
        for window in windows(display):     # close each window with the q key
            subprocess.run(["xdotool", "windowfocus", "--sync", window, "key", "q"],
                           env={"DISPLAY": display}, check=True)
        out, err = run.communicate(timeout=30)
        assert run.returncode == 0, err
        assert err == ("note: PyCharm's plot pane (backend_interagg) shows still pictures only: "
                       "the live figure opens in a TkAgg window\n")
        assert os.listdir(ide_backends["STILLS_DIR"]) == []     # nothing went to the pane
    finally:
        xvfb.terminate()
        xvfb.wait()


def test_spyders_console_gets_one_picture_per_epoch_and_the_scatter(synthetic_mnist, tmp_path):
    pytest.importorskip("spyder_kernels", reason="the Spyder test needs spyder-kernels: pip install "
                        "spyder-kernels (bash .ci/run installs it)")
    jupyter_client = pytest.importorskip("jupyter_client", reason="needs jupyter_client")
    spec = tmp_path / "kernels" / "spyder"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "spyder_kernels.console", "-f", "{connection_file}"],
        "display_name": "Spyder", "language": "python"}))
    specs = jupyter_client.kernelspec.KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    manager = jupyter_client.KernelManager(kernel_name="spyder", kernel_spec_manager=specs)
    manager.start_kernel(cwd=str(REPO), env=headless_env())
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        root, _ = synthetic_mnist
        messages = []
        reply = client.execute_interactive(     # what Spyder's Run (F5) sends
            f"runfile({str(REPO / 'autoencoder.py')!r}, args='--epochs 2 --batch-size 8 --data-dir "
            f"{root} --out-dir {tmp_path / 'out'} --no-download', wdir={str(REPO)!r})",
            timeout=300, output_hook=messages.append)
        assert reply["content"]["status"] == "ok", reply["content"]
        kinds = [m["msg_type"] for m in messages]
        assert "error" not in kinds and "update_display_data" not in kinds
        shown = [m for m in messages if m["msg_type"] == "display_data"]
        assert len(shown) == 3      # the grid after each of the 2 epochs, then the 3-D scatter
        assert all("image/png" in m["content"]["data"] for m in shown)
        text = "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")
        assert text.index("Epoch 0 took") < text.index("Epoch:  1 | train loss")
        assert "Wrote " in text and (tmp_path / "out" / "latent_3d.png").exists()
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
