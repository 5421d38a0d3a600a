"""The live window (lab/display.py), as a person sees it: a virtual screen (Xvfb), the TkAgg
backend, screenshots."""
import shutil
import subprocess
import time

import numpy as np
import PIL.Image
import pytest

from conftest import headless_env, run_script, start_script

TOOLS = ("Xvfb", "import", "xdotool")   # packages xvfb, imagemagick, xdotool
needs_a_screen = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in TOOLS),
    reason="needs Xvfb, ImageMagick's import and xdotool: apt-get install xvfb imagemagick xdotool")


@pytest.fixture
def screen():
    """A virtual screen; yields its DISPLAY name."""
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    display = ":" + xvfb.stdout.readline().strip()
    yield display
    xvfb.terminate()
    xvfb.wait()


def screenshot(display, path):
    """The whole screen as RGB values in [0, 1] (ImageMagick saves a grey screen as grey PNG)."""
    subprocess.run(["import", "-display", display, "-window", "root", str(path)], check=True)
    with PIL.Image.open(path) as image:
        return np.asarray(image.convert("RGB")) / 255


def windows(display):
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "Figure"],
                           env={"DISPLAY": display}, capture_output=True, text=True)
    return found.stdout.split()


@needs_a_screen
def test_the_window_opens_updates_shows_the_codes_and_ends_when_closed(synthetic_mnist, tmp_path, screen):
    root, _ = synthetic_mnist
    run = start_script("--data-dir", root, "--out-dir", tmp_path, "--epochs", 30, "--batch-size", 16,
                       "--no-gif", env=headless_env(DISPLAY=screen, MPLBACKEND="TkAgg"))
    for line in run.stdout:                 # a few updates into training
        if line.startswith("Epoch:  3 | train loss"):
            break
    during = screenshot(screen, tmp_path / "during.png")
    assert len(windows(screen)) == 1
    assert during.std() > 0.1 and (during > 0.95).mean() > 0.05, "the live window is not drawn"

    for line in run.stdout:                 # training done: the 3-D window opens and the run waits
        if line.startswith("Wrote"):
            break
    time.sleep(2)
    after = screenshot(screen, tmp_path / "after.png")
    assert len(windows(screen)) == 2 and run.poll() is None     # it waits for the windows
    assert abs(after - during).mean() > 0.01, "the 3-D window did not appear"

    for window in windows(screen):          # close each window with the q key, as a person would
        subprocess.run(["xdotool", "windowfocus", "--sync", window, "key", "q"],
                       env={"DISPLAY": screen}, check=True)
    out, err = run.communicate(timeout=30)
    assert run.returncode == 0, err
    assert err == ""


def test_without_a_screen_a_gui_backend_never_blocks(synthetic_mnist, tmp_path):
    root, _ = synthetic_mnist      # no --no-show, no DISPLAY, and a GUI backend asked for: no screen needed
    result = run_script("--epochs", 1, "--data-dir", root, "--out-dir", tmp_path, "--no-gif",
                        env=headless_env(MPLBACKEND="TkAgg"), timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "latent_3d.png").exists() and result.stderr == ""
