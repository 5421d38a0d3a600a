"""Where the figures go: a window when a screen and a window toolkit are there; in a notebook, one
picture in the cell, updated in place; in Spyder's console, a picture per epoch; otherwise files
only, never blocking. PyCharm's pane of still pictures gives way to a window."""
import io
import os
import sys

import matplotlib.pyplot as plt
import PIL.Image
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends import backend_registry

from lab import frames
from lab.errors import say

def how_to_show(no_show):
    """Where the figures go, decided from what matplotlib's backend can do, not from its name:
    "window" for one that animates windows (Tk, Qt, ...); "notebook" in a Jupyter kernel whose
    backend draws no window (inline, ipympl): one picture in the cell, updated in place;
    "spyder" in Spyder's console, which adds each picture to its Plots pane instead of
    replacing it: one per epoch; None for files only, never blocking. A backend that shows only
    still pictures (PyCharm's tool window) gives way to a window, or files and one line why."""
    backend = plt.get_backend()
    try:
        module = backend_registry.load_backend_module(backend)
        framework = getattr(module.FigureCanvas, "required_interactive_framework", None)
    except ImportError:     # it cannot even load (tkinter missing, say): files only
        module, framework, no_show = None, None, True
    if in_notebook() and not framework:     # its backend stays as it is, for the later cells
        return None if no_show else "spyder" if in_spyder() else "notebook"
    if no_show or (framework and not has_screen()):
        plt.switch_backend("agg")
        return None
    if framework:
        return "window"
    if getattr(module, "FigureManager", FigureManagerBase).show is FigureManagerBase.show:
        return None     # it cannot show a figure at all (agg, pdf, svg): files only, as asked
    return window_instead(backend)


def has_screen():
    """False on Linux without a display server; elsewhere a screen is taken to be there."""
    return not sys.platform.startswith("linux") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


GUI_BACKENDS = ("QtAgg", "TkAgg", "MacOSX", "GTK4Agg", "GTK3Agg", "WXAgg")    # windows to try


def window_instead(backend):
    """For a backend that shows still pictures only: a window toolkit that works here, if any
    (saying so in one line), else files only and a line that says how to get the animation."""
    where = ("PyCharm's plot pane (backend_interagg)" if "interagg" in backend else
             f"matplotlib's backend {backend}")
    for gui in GUI_BACKENDS if has_screen() else ():
        try:
            plt.switch_backend(gui)
        except ImportError:     # not installed, or another toolkit's loop is running
            continue
        say(f"note: {where} shows still pictures only: the live figure opens in a {gui} window")
        return "window"
    plt.switch_backend("agg")
    if not has_screen():
        say(f"note: {where} shows still pictures only, and without a screen no window can open: "
            "the live figure goes to the files only")
    else:
        say(f"note: {where} shows still pictures only, and no window toolkit loads here: the live "
            "figure goes to the files only; install tkinter or PyQt6 and the script opens a window"
            + (", or untick Settings > Tools > Python Scientific > Show plots in tool window"
               if "interagg" in backend else ""))
    return None


def in_notebook():
    """True inside a Jupyter kernel, whose IPython shell has a kernel."""
    ipython = sys.modules.get("IPython")    # imported by every kernel, never imported here
    return ipython is not None and hasattr(ipython.get_ipython(), "kernel")


def in_spyder():
    """True in Spyder's console, whose frontend ignores updates of a shown picture."""
    kernel = sys.modules["IPython"].get_ipython().kernel
    return type(kernel).__module__.startswith("spyder_kernels")


def show_in_notebook(picture, output=None):
    """Show a PIL image or a figure in the notebook cell's output, or replace the one shown in
    output; returns the output, to update it again."""
    from IPython.display import Image, display     # there in every notebook, needed nowhere else
    png = io.BytesIO()
    if isinstance(picture, PIL.Image.Image):
        picture.save(png, format="png", compress_level=1)   # quick: a frame every 100 steps
    else:
        picture.savefig(png, format="png", dpi=100)
    if output is None:
        return display(Image(png.getvalue()), display_id=True)
    output.update(Image(png.getvalue()))
    return output


def show_epoch_picture(figure):
    """In Spyder's console, a new picture after each epoch: one per update would flood its
    Plots pane, which adds every picture shown instead of replacing it."""
    if figure.show == "spyder" and figure.frames:
        show_in_notebook(frames.paint(figure, figure.frames[-1]))
