"""--explore: play with a trained run's codes. The codes of the first N_CODES test digits in a
scatter, coloured by digit as the lesson's plot_latent colours them, the digit the decoder makes
of the sliders' code beside it, and a slider per code number: moving one redraws the digit, a
click near a point moves the sliders to that digit's code. Codes of 2 numbers get a flat map, of
1 a strip; longer codes get 3 sliders along their 3 principal axes (lab/code_sizes.py's scatter).
In a notebook, ipywidgets' sliders. Nothing is trained or written."""
import argparse
import io
import json
import os

import matplotlib.pyplot as plt
import numpy as np
import PIL.Image
import torch
from matplotlib import cm
from matplotlib.lines import Line2D
from matplotlib.widgets import Slider
from mpl_toolkits.mplot3d import proj3d

from lab import checkpoints, cli, code_sizes, display, kinds, measures
from lab.errors import UserError

N_CODES = 1000      # test digits whose codes are drawn: never trained on
PICK_RADIUS = 10    # pixels: a click this near a point picks it
TRACE = "AUTOENCODER_EXPLORE_TRACE"     # set to 1: each drawing printed as a JSON line, for tests


def explore(args, AutoEncoder, load_mnist, hyperparameters):
    """--explore PATH, from main(): the window (until it is closed) or, in a notebook, the sliders.
    AutoEncoder, load_mnist, hyperparameters: the lesson's class, loader and constants."""
    if isinstance(open_view(args, AutoEncoder, load_mnist, hyperparameters), Window):
        plt.show()      # blocks until the window is closed


def open_view(args, AutoEncoder, load_mnist, hyperparameters):
    """The checkpoint of --explore and the codes of the test digits, shown: a Window, or in a
    notebook a NotebookView. A missing or wrong file, no screen, no ipywidgets: one line."""
    older = cli.older_config(cli.make_parser(hyperparameters))
    checkpoint = checkpoints.load_checkpoint(args.explore, older, "--explore")
    show = where_to_show()      # before MNIST is read, or downloaded: without a screen, nothing new
    device = cli.pick_device(args.device)
    autoencoder = load_model(args.explore, checkpoint, AutoEncoder).to(device)
    images, labels = load_mnist(args.data_dir, train=False, download=args.download)
    images = images[:N_CODES].reshape(-1, 28 * 28).to(device).float().div(255)     # (1000, 784)
    explorer = Explorer(autoencoder, measures.codes(autoencoder, images).cpu(), labels[:N_CODES])
    title = (f"Play with the codes of {args.explore}, after {checkpoint['epoch']} epochs: "
             f"{len(images):,} test digits")
    if show == "notebook":
        from IPython.display import display as show_in_cell     # there in every notebook
        view = NotebookView(explorer, title)
        show_in_cell(view.box)
        return view
    return Window(explorer, title)


def load_model(path, checkpoint, AutoEncoder):
    """The checkpoint's network, built from its flags as the run built it, in eval mode."""
    autoencoder = kinds.build(argparse.Namespace(**checkpoint["config"]), AutoEncoder)
    try:
        autoencoder.load_state_dict(checkpoint["model"])
    except (RuntimeError, ValueError, KeyError):    # saved by an older autoencoder.py
        raise UserError(f"error: {path} holds a model of another layout (an older autoencoder.py?): "
                        "train it again, then explore its autoencoder.pt")
    return autoencoder.eval()


def where_to_show():
    """"window" or "notebook" (with ipywidgets); anything else ends in one line that says why."""
    backend = plt.get_backend()
    show = display.how_to_show(no_show=False)
    if show == "notebook":
        try:
            import ipywidgets  # noqa: F401  (a test-only package: the notebook's sliders)
        except ImportError:
            raise UserError("error: --explore in a notebook needs ipywidgets: run %pip install "
                            "ipywidgets, then this cell again")
    if show in ("window", "notebook"):
        return show
    if show == "spyder":
        raise UserError("error: --explore needs a window, which Spyder's console does not open with "
                        "its inline plots: run it in a terminal, or set the console's graphics backend "
                        "to Automatic")
    if not display.has_screen():
        raise UserError("error: --explore opens a window, and there is no screen here (no DISPLAY): "
                        "run it on a desktop, or in a notebook with ipywidgets")
    raise UserError(f"error: --explore opens a window, and matplotlib opens none here (its backend: "
                    f"{backend}): check that DISPLAY names a running screen, or set MPLBACKEND=TkAgg")


class Explorer:
    """What the explorer shows, without drawing it: the codes (N, code size) and labels of some
    digits; where each sits along the sliders (shown, (N, sliders)); the sliders' values, the code
    they make and the digit decoded from it; the digit picked last. Up to 3 numbers: a slider per
    number. More: 3 sliders along the codes' principal axes, from their mean; a picked digit's
    code keeps its part off those axes (rest), so that the decoder gets its whole code."""
    def __init__(self, autoencoder, codes, labels):
        self.autoencoder, self.codes, self.labels = autoencoder, codes.float(), labels.cpu()
        self.size = codes.shape[1]
        if self.size > 3:   # the directions in which these codes spread the most
            self.mean, self.axes = measures.pca(self.codes, 3)      # (size,), (size, 3)
        else:               # the numbers themselves
            self.mean, self.axes = torch.zeros(self.size), torch.eye(self.size)
        self.shown = measures.pca_codes(self.codes, self.mean, self.axes)     # (N, sliders)
        self.low = self.shown.min(0).values
        self.high = torch.maximum(self.shown.max(0).values, self.low + 1e-6)
        self.values = self.shown.mean(0)    # the sliders start at the codes' mean
        self.rest = torch.zeros(self.size)
        self.picked, self.moved = None, False

    def names(self):
        return [f"{'axis' if self.size > 3 else 'code'} {k + 1}" for k in range(len(self.values))]

    def code(self):
        return self.mean + self.axes @ self.values + self.rest     # (size,)

    def image(self):
        """The decoder's digit for the code, (28, 28): measures.decode, as every picture's."""
        return measures.decode(self.autoencoder, self.code()[None])[0].view(28, 28).numpy()

    def move(self, k, value):
        self.values = self.values.clone()
        self.values[k] = value
        self.moved = True

    def pick(self, i):
        """The sliders to the code of digit i: its whole code."""
        self.picked, self.moved = i, False
        self.values = self.shown[i].clone()
        self.rest = self.codes[i] - (self.mean + self.axes @ self.values)   # 0 up to 3 numbers

    def points(self):
        """Where the codes are drawn: (N, 3) or (N, 2); codes of 1 number along x, a row per digit
        (as lab/code_sizes.py's flat scatter: the rows only spread them out)."""
        if self.size > 1:
            return self.shown.numpy()
        rows = self.labels.numpy() + np.random.default_rng(0).uniform(-0.3, 0.3, len(self.labels))
        return np.column_stack([self.shown[:, 0].numpy(), rows])

    def where(self):
        """Where the sliders' code is drawn in the scatter: values along its axes (x only for 1)."""
        return self.values.tolist()

    def caption(self):
        if self.picked is None:
            return "decoded from the sliders' code"
        digit = f"test digit {self.picked} (a {self.labels[self.picked].item()})"
        return f"the code of {digit}, moved" if self.moved else f"decoded from the code of {digit}"

    def hint(self):
        """The window's words on what the sliders do."""
        said = ("Drag a slider: the decoder draws the digit of that code. Click near a point: the "
                "sliders move to that digit's code." + " Drag the scatter to turn it." * (self.size >= 3))
        if self.size > 3:
            said += (f"\nCodes of {self.size} numbers: the sliders move the code from the codes' mean "
                     "along their 3 main directions (the scatter's principal axes);\na clicked digit "
                     "keeps the rest of its code, its part off those axes.")
        return said


def colours(labels):
    """Each digit's colour, as the lesson's plot_latent colours it."""
    return [cm.rainbow(int(255 * s / 9)) for s in labels.tolist()]


def screen_positions(ax, points):
    """Where points (N, 3) or (N, 2) in ax's data are on the canvas, (N, 2) pixels from its
    bottom left: through the 3-D projection of the view as drawn, for a 3-D scatter."""
    if ax.name == "3d":
        x, y, _ = proj3d.proj_transform(*points.T, ax.get_proj())
        points = np.column_stack([x, y])
    return ax.transData.transform(points)


def nearest(positions, xy, radius=PICK_RADIUS):
    """The index of the row of positions (N, 2) nearest to xy, if within radius; else None."""
    distance = np.hypot(*(positions - np.asarray(xy)).T)
    i = int(distance.argmin())
    return i if distance[i] <= radius else None


class Window:
    """The explorer in a matplotlib window: the scatter, the decoded digit, a Slider each; a click
    near a point (a press and release in one place: a drag turns the 3-D view) picks it."""
    def __init__(self, explorer, title, fig=None):
        self.explorer, self.press = explorer, None
        self.fig = fig or plt.figure(figsize=(11, 6.2))
        if self.fig.canvas.manager is not None:
            self.fig.canvas.manager.set_window_title("Play with the codes")
        self.fig.suptitle(title, fontsize=11)
        self.ax, self.marker, self.ring = draw_scatter(self.fig, explorer)
        self.digit = self.fig.add_axes((0.6, 0.41, 0.36, 0.45))
        self.image = self.digit.imshow(explorer.image(), cmap="gray", vmin=0, vmax=1,
                                       interpolation="nearest")
        self.digit.set(xticks=(), yticks=())
        self.sliders = []
        for k, name in enumerate(explorer.names()):
            slider = Slider(self.fig.add_axes((0.66, 0.29 - 0.065 * k, 0.27, 0.04)), name,
                            explorer.low[k].item(), explorer.high[k].item(), valinit=explorer.values[k].item(),
                            valfmt="%.3f")
            slider.on_changed(lambda value, k=k: self.moved(k, value))
            self.sliders.append(slider)
        self.fig.text(0.02, 0.015, explorer.hint(), fontsize=9, va="bottom")
        self.fig.canvas.mpl_connect("button_press_event", self.pressed)
        self.fig.canvas.mpl_connect("button_release_event", self.released)
        if os.environ.get(TRACE):
            self.fig.canvas.mpl_connect("draw_event", self.trace)
        self.redraw()

    def moved(self, k, value):
        self.explorer.move(k, value)
        self.redraw()

    def pressed(self, event):
        self.press = (event.x, event.y) if event.inaxes is self.ax and event.button == 1 else None

    def released(self, event):
        if self.press is None or np.hypot(event.x - self.press[0], event.y - self.press[1]) > 3:
            return
        i = nearest(screen_positions(self.ax, self.explorer.points()), self.press)
        if i is not None:
            self.pick(i)

    def pick(self, i):
        self.explorer.pick(i)
        for slider, value in zip(self.sliders, self.explorer.values.tolist()):
            slider.eventson = False     # one redraw below, not one per slider
            slider.set_val(value)
            slider.eventson = True
        self.redraw()

    def redraw(self):
        e = self.explorer
        self.image.set_data(e.image())
        self.digit.set_title(e.caption(), fontsize=10)
        code = e.code().tolist()
        self.digit.set_xlabel(f"code: {', '.join(f'{v:.2f}' for v in code)}" if len(code) <= 8
                              else f"a code of {len(code)} numbers", fontsize=9)
        move_marker(self.marker, e.where())
        if e.picked is not None:
            move_marker(self.ring, e.points()[e.picked].tolist())
        self.fig.canvas.draw_idle()

    def trace(self, event):
        """One JSON line per drawing: what it shows and where, in pixels from the canvas's top
        left, so that a test can click and check the picture (set AUTOENCODER_EXPLORE_TRACE=1)."""
        height = self.fig.bbox.height

        def box(ax):
            x0, y0, x1, y1 = ax.get_window_extent().extents
            return [x0, height - y1, x1, height - y0]
        positions = screen_positions(self.ax, self.explorer.points())
        print(json.dumps({"code": self.explorer.code().tolist(), "picked": self.explorer.picked,
                          "values": self.explorer.values.tolist(), "image": box(self.digit),
                          "sliders": [box(s.ax) for s in self.sliders],
                          "low": self.explorer.low.tolist(), "high": self.explorer.high.tolist(),
                          "size": [self.fig.bbox.width, height],
                          "points": [[x, height - y] for x, y in positions.tolist()]}), flush=True)


def draw_scatter(fig, explorer):
    """The codes' scatter, 3-D for 3 numbers or more: the axes, the sliders' code's marker and the
    ring that marks a picked digit."""
    points, size = explorer.points(), explorer.size
    ax = (fig.add_axes((0.0, 0.1, 0.56, 0.76), projection="3d") if size >= 3 else
          fig.add_axes((0.07, 0.16, 0.49, 0.68)))
    ax.scatter(*points.T, c=colours(explorer.labels), s=9, **{"depthshade": False} if size >= 3 else {})
    names = explorer.names()
    if size >= 3:
        ax.set(xlabel=names[0], ylabel=names[1], zlabel=names[2])
        marker, = ax.plot(*[[v] for v in explorer.where()], "k+", ms=18, mew=2.5)
        ring, = ax.plot([], [], [], "o", mfc="none", mec="k", ms=12, mew=2)
    else:
        ax.set(xlabel=names[0], ylabel=names[1] if size == 2 else "the digit's row (rows only spread them)")
        marker = (ax.plot(*explorer.where(), "k+", ms=18, mew=2.5)[0] if size == 2 else
                  ax.axvline(explorer.where()[0], color="k", lw=1.5))
        ring, = ax.plot([], [], "o", mfc="none", mec="k", ms=12, mew=2)
    handles = [Line2D([], [], ls="", marker="o", color=colours(torch.tensor([d]))[0], label=str(d))
               for d in range(10)]
    fig.legend(handles=handles, ncols=10, loc="upper center", bbox_to_anchor=(0.3, 0.94), fontsize=8,
               handletextpad=0, columnspacing=0.8, title_fontsize=9, frameon=False,
               title=f"Codes of {code_sizes.plural(size, 'number')}"
               + (", along their 3 principal axes" if size > 3 else "") + ", coloured by digit")
    return ax, marker, ring


def move_marker(marker, where):
    if hasattr(marker, "set_data_3d"):
        marker.set_data_3d(*[[v] for v in where])
    elif len(where) == 1:   # the vertical line at a code of 1 number
        marker.set_xdata([where[0], where[0]])
    else:
        marker.set_data(*[[v] for v in where[:2]])


def png(image, scale=8):
    """A digit (28, 28) in [0, 1] as PNG bytes, each pixel a scale x scale block."""
    grey = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    PIL.Image.fromarray(grey).resize((28 * scale, 28 * scale), PIL.Image.NEAREST).save(buffer, "png")
    return buffer.getvalue()


class NotebookView:
    """The explorer in a notebook: the scatter as a picture, ipywidgets' sliders and the digit,
    and a test digit's number to take its code (a picture takes no clicks)."""
    def __init__(self, explorer, title):
        import ipywidgets as widgets    # only here: ipywidgets is not needed to train
        self.explorer = e = explorer
        self.sliders = [widgets.FloatSlider(value=e.values[k].item(), min=e.low[k].item(),
                                            max=e.high[k].item(), step=(e.high[k] - e.low[k]).item() / 200,
                                            description=name, readout_format=".2f")
                        for k, name in enumerate(e.names())]
        for k, slider in enumerate(self.sliders):
            slider.observe(lambda change, k=k: self.moved(k, change["new"]), names="value")
        self.digit = widgets.Image(value=png(e.image()), format="png")
        self.caption = widgets.Label(e.caption())
        self.pick = widgets.BoundedIntText(value=0, min=0, max=len(e.codes) - 1, description="test digit")
        take = widgets.Button(description="take its code")
        take.on_click(lambda _: self.take(self.pick.value))
        scatter = widgets.Image(value=scatter_png(e), format="png", width=480)
        hint = e.hint().replace("Click near a point", "Type a test digit's number and take its code")
        self.box = widgets.VBox([widgets.HTML(f"<b>{title}</b>"), widgets.HBox([
            scatter, widgets.VBox([self.digit, self.caption, *self.sliders, widgets.HBox([self.pick, take])])]),
            widgets.HTML(hint.replace("\n", "<br>").replace(" Drag the scatter to turn it.", ""))])
        self.busy = False

    def moved(self, k, value):
        if not self.busy:   # not while take() sets the sliders
            self.explorer.move(k, value)
            self.redraw()

    def take(self, i):
        self.explorer.pick(i)
        self.busy = True
        for slider, value in zip(self.sliders, self.explorer.values.tolist()):
            slider.value = value
        self.busy = False
        self.redraw()

    def redraw(self):
        self.digit.value = png(self.explorer.image())
        self.caption.value = self.explorer.caption()


def scatter_png(explorer):
    """The window's scatter as a picture, for the notebook."""
    from matplotlib.figure import Figure    # outside pyplot: no window, nothing left open
    fig = Figure(figsize=(6, 6.2))
    draw_scatter(fig, explorer)
    fig.axes[0].set_position((0.02, 0.02, 0.96, 0.92))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()
