"""--explore (lab/explorer.py): the sliders' code and the decoder's digit, a click that picks a
point through the scatter's projection, longer codes along their principal axes; bad input in one
line; a real window under Xvfb driven by xdotool; ipywidgets' sliders in a real kernel."""
import base64
import io
import json
import queue
import subprocess
import threading
import time

import numpy as np
import PIL.Image
import pytest
import torch
from matplotlib.backend_bases import MouseEvent
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import autoencoder as ae
from conftest import (REPO, flag_error, headless_env, run_script, start_script, synthetic_images,
                      train_epochs)
from lab import checkpoints, explorer, kinds, measures
from test_window import needs_a_screen, screen  # noqa: F401  (screen: the Xvfb fixture)


@pytest.fixture(scope="module")
def trained(synthetic_mnist):
    """A model trained on the synthetic digits for each code size asked, with the codes and labels
    of the synthetic test digits: trained(size) -> (model, codes, labels). Short training may
    leave a decoder that draws the mean image for every code: the first seed that does not."""
    _, arrays = synthetic_mnist
    images = synthetic_images(synthetic_mnist)
    test_images = torch.tensor(arrays[False][0]).reshape(-1, 784).float() / 255
    made = {}

    def model_of(size):
        for seed in range(1, 6):
            if size in made:
                break
            torch.manual_seed(seed)
            flags = ["--code-size", str(size)]
            model = kinds.build(ae.parse_args(flags), ae.AutoEncoder)
            train_epochs(images, 6, 16, model=model, flags=flags)
            codes = measures.codes(model, test_images)
            if responds(model, codes):
                made[size] = (model.eval(), codes, torch.tensor(arrays[False][1]))
        assert size in made, "no seed trained a decoder that draws more than the mean image"
        return made[size]
    return model_of


def responds(model, codes):
    """Whether the decoder draws different digits for the codes' extremes."""
    ends = torch.stack([codes.min(0).values, codes.max(0).values])
    return (measures.decode(model, ends)[0] - measures.decode(model, ends)[1]).abs().max() > 0.3


def decoded(model, code):
    """The decoder's digit (28, 28) for one code, straight from the lesson's decoder."""
    with torch.no_grad():
        return model.decoder(torch.as_tensor(code, dtype=torch.float32)[None])[0].view(28, 28).numpy()


def window(state):
    """An explorer's Window drawn off screen, on a canvas of its own."""
    fig = Figure(figsize=(11, 6.2))
    FigureCanvasAgg(fig)
    view = explorer.Window(state, "test", fig=fig)
    fig.canvas.draw()
    return view


def click(fig, xy, to=None):
    """A press at xy and a release at `to` (xy: a click), through the canvas's own callbacks."""
    for name, (x, y) in (("button_press_event", xy), ("button_release_event", xy if to is None else to)):
        fig.canvas.callbacks.process(name, MouseEvent(name, fig.canvas, x, y, button=1))


def projected(ax, points):
    """Where points sit on the canvas, from the axes' projection matrix (homogeneous coordinates)."""
    if ax.name == "3d":
        p = np.column_stack([points, np.ones(len(points))]) @ ax.get_proj().T
        points = p[:, :2] / p[:, 3:]
    return ax.transData.transform(points)


def isolated(positions, inside):
    """The index of the point farthest from its nearest neighbour (the synthetic digits' codes lie
    in tight bunches), away from the edges of the box (x0, y0, x1, y1), and that distance in
    pixels: a click nearer than half of it picks that point and no other."""
    distance = np.hypot(*(positions[:, None] - positions[None]).transpose(2, 0, 1))
    np.fill_diagonal(distance, np.inf)
    x0, y0, x1, y1 = inside
    inner = ((positions[:, 0] > x0 + 20) & (positions[:, 0] < x1 - 20)
             & (positions[:, 1] > y0 + 20) & (positions[:, 1] < y1 - 20))
    i = int(np.where(inner, distance.min(1), 0).argmax())
    assert distance[i].min() > 2, "no point stands alone"
    return i, distance[i].min()


# ---- the state, without a screen ---------------------------------------------------------------

@pytest.mark.parametrize("size", [1, 2, 3])
def test_a_slider_sets_its_code_number_and_the_digit_is_the_decoders(trained, size):
    model, codes, labels = trained(size)
    state = explorer.Explorer(model, codes, labels)
    assert state.names() == [f"code {k + 1}" for k in range(size)]
    assert torch.equal(state.low, codes.min(0).values) and torch.equal(state.high, codes.max(0).values)
    start = state.image()
    value = (0.8 * state.high[0] + 0.2 * state.low[0]).item()
    state.move(0, value)
    code = codes.mean(0).clone()
    code[0] = value
    assert torch.allclose(state.code(), code, atol=1e-6)
    assert np.array_equal(state.image(), measures.decode(model, state.code()[None])[0].view(28, 28).numpy())
    assert np.abs(state.image() - decoded(model, code)).max() < 1e-5
    assert np.abs(state.image() - start).max() > 0.01      # the digit changed


@pytest.mark.parametrize("size", [1, 2, 3])
def test_a_click_at_a_points_place_picks_its_code(trained, size):
    model, codes, labels = trained(size)
    view = window(explorer.Explorer(model, codes, labels))
    assert (view.ax.name == "3d") == (size == 3) and len(view.sliders) == size
    positions = projected(view.ax, view.explorer.points())
    i, apart = isolated(positions, view.ax.bbox.extents)
    click(view.fig, positions[i] + min(apart / 4, 3))   # near it, not on it
    assert view.explorer.picked == i
    assert torch.equal(view.explorer.code(), codes[i])
    assert [s.val for s in view.sliders] == pytest.approx(codes[i].tolist())
    drawn = view.image.get_array()
    assert np.abs(drawn - decoded(model, codes[i])).max() < 1e-5
    assert f"test digit {i} (a {labels[i].item()})" in view.digit.get_title()


def test_a_drag_or_a_click_far_from_every_point_picks_none(trained):
    model, codes, labels = trained(3)
    view = window(explorer.Explorer(model, codes, labels))
    positions = projected(view.ax, view.explorer.points())
    i, _ = isolated(positions, view.ax.bbox.extents)
    click(view.fig, positions[i], to=positions[i] + 30)     # a drag that starts on a point
    x0, y0, _, _ = view.ax.bbox.extents
    click(view.fig, (x0 + 1, y0 + 1))                       # a corner of the axes, far from the points
    assert view.explorer.picked is None
    click(view.fig, positions[i])                           # the same point, clicked: picked
    assert view.explorer.picked == i


def test_longer_codes_move_along_their_principal_axes_as_the_window_says(trained):
    sklearn = pytest.importorskip("sklearn.decomposition", reason="scikit-learn is a test-only "
                                  "reference: pip install scikit-learn (bash .ci/run installs it)")
    model, codes, labels = trained(8)
    state = explorer.Explorer(model, codes, labels)
    reference = sklearn.PCA(3).fit(codes.double().numpy())
    found = state.axes.double().numpy()
    assert np.allclose(np.abs(reference.components_ @ found), np.eye(3), atol=1e-4)   # same axes, in order
    assert state.names() == ["axis 1", "axis 2", "axis 3"]
    state.move(0, state.values[0].item() + 1.5)     # from the codes' mean, along the first axis
    moved = codes.mean(0) + 1.5 * state.axes[:, 0]
    assert torch.allclose(state.code(), moved, atol=1e-5)
    assert np.abs(state.image() - decoded(model, moved)).max() < 1e-5
    state.pick(7)       # a picked digit: its whole code, and where it sits along the axes
    assert torch.allclose(state.code(), codes[7], atol=1e-5)
    assert torch.allclose(state.values, (codes[7] - codes.mean(0)) @ state.axes, atol=1e-5)
    view = window(explorer.Explorer(model, codes, labels))
    assert [view.ax.get_xlabel(), view.ax.get_ylabel(), view.ax.get_zlabel()] == state.names()
    said = " ".join(text.get_text() for text in view.fig.texts)
    assert "Codes of 8 numbers" in said and "3 main directions" in said
    positions = projected(view.ax, view.explorer.points())
    i, _ = isolated(positions, view.ax.bbox.extents)
    click(view.fig, positions[i])
    assert torch.allclose(view.explorer.code(), codes[i], atol=1e-5)
    assert np.abs(view.image.get_array() - decoded(model, codes[i])).max() < 1e-4


def test_a_code_of_1_number_is_a_strip_with_a_row_per_digit(trained):
    model, codes, labels = trained(1)
    state = explorer.Explorer(model, codes, labels)
    points = state.points()
    assert np.array_equal(points[:, 0], codes[:, 0].numpy())
    assert np.abs(points[:, 1] - labels.numpy()).max() <= 0.3


def test_the_notebooks_sliders_redraw_the_digit(trained):
    pytest.importorskip("ipywidgets", reason="the notebook's sliders need ipywidgets, a test-only "
                        "package: pip install ipywidgets (bash .ci/run installs it)")
    model, codes, labels = trained(3)
    view = explorer.NotebookView(explorer.Explorer(model, codes, labels), "test")
    before = view.digit.value
    view.sliders[1].value = view.sliders[1].min
    assert view.digit.value != before
    assert np.abs(png_digit(view.digit.value) - decoded(model, view.explorer.code())).max() <= 0.51 / 255
    assert view.explorer.code()[1].item() == pytest.approx(view.sliders[1].min)
    view.take(5)
    assert [s.value for s in view.sliders] == pytest.approx(codes[5].tolist())
    assert torch.equal(view.explorer.code(), codes[5]) and "test digit 5" in view.caption.value


def png_digit(data, scale=8):
    """The 28 x 28 digit in a PNG of the notebook's, each pixel a scale x scale block, in [0, 1]."""
    grey = np.asarray(PIL.Image.open(io.BytesIO(data)).convert("L")) / 255
    return grey[scale // 2::scale, scale // 2::scale]


# ---- the command line: a real checkpoint, bad input --------------------------------------------

@pytest.fixture(scope="module")
def checkpoint(synthetic_mnist, tmp_path_factory):
    """The autoencoder.pt of a real run, and that run's result."""
    root, arrays = synthetic_mnist
    out = tmp_path_factory.mktemp("run")
    result = run_script("--epochs", 6, "--batch-size", 16, "--data-dir", root, "--out-dir", out,
                        "--no-gif", "--no-download")
    assert result.returncode == 0, result.stderr
    model = ae.AutoEncoder()
    model.load_state_dict(torch.load(out / "autoencoder.pt", weights_only=True)["model"])
    codes = measures.codes(model, torch.tensor(arrays[False][0]).reshape(-1, 784).float() / 255)
    assert responds(model, codes), "the run's decoder draws the mean image for every code"
    return out / "autoencoder.pt", result


def test_a_run_ends_with_the_command_that_explores_it(checkpoint):
    path, result = checkpoint
    assert result.stdout.splitlines()[-1] == f"Play with the codes: python autoencoder.py --explore {path}"


@pytest.mark.parametrize("content", [None, b"not a checkpoint", b"", "tensor"], ids=["missing", "text", "empty", "tensor"])
def test_a_file_that_is_no_checkpoint_is_one_line(tmp_path, content):
    path = tmp_path / "autoencoder.pt"
    if content == "tensor":
        torch.save(torch.zeros(3), path)
    elif content is not None:
        path.write_bytes(content)
    result = run_script("--explore", path, "--data-dir", tmp_path / "no-mnist")
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"error: --explore {path}") and "earlier run" in result.stderr
    assert "Epoch" not in result.stdout and not (tmp_path / "no-mnist").exists()


def test_a_checkpoint_of_another_layout_is_one_line(checkpoint, tmp_path):
    path, _ = checkpoint
    saved = torch.load(path, weights_only=True)
    saved["config"]["code_size"] = 2        # weights of 3 numbers, flags of 2
    other = tmp_path / "other.pt"
    torch.save(saved, other)
    older = checkpoints.load_checkpoint(other, {}, "--explore")
    with pytest.raises(explorer.UserError) as error:
        explorer.load_model(other, older, ae.AutoEncoder)
    assert error.value.status == 1 and "\n" not in error.value.message
    assert error.value.message.startswith(f"error: {other} holds a model of another layout")


@pytest.mark.parametrize("extra", [["--epochs", "3"], ["--resume", "x.pt"], ["--recipe", "tutorial"],
                                   ["--code-size", "2"], ["--variational"], ["--out-dir", "o"],
                                   ["--no-show"], ["--seed", "1"]], ids=lambda extra: extra[0])
def test_flags_that_make_no_sense_beside_explore_are_one_line(extra, capsys):
    message = flag_error(["--explore", "autoencoder.pt", *extra], capsys)
    assert ": error: argument --explore: " in message
    assert f"{extra[0]} cannot go with it" in message and "--data-dir, --device or --no-download" in message


def test_explore_takes_the_data_and_the_device():
    args = ae.parse_args(["--explore", "run/autoencoder.pt", "--data-dir", "d", "--device", "cpu",
                          "--no-download"])
    assert (args.explore, args.data_dir, args.device, args.download) == ("run/autoencoder.pt", "d", "cpu", False)


@pytest.mark.parametrize("env, said", [({}, "there is no screen here"),
                                       ({"DISPLAY": ":0", "MPLBACKEND": "agg"}, "matplotlib opens none here (its backend: agg)")],
                         ids=["no screen", "a backend without windows"])
def test_without_a_window_one_line_and_nothing_new(checkpoint, tmp_path, env, said):
    path, _ = checkpoint
    before = sorted(path.parent.iterdir())
    result = run_script("--explore", path, "--data-dir", tmp_path / "mnist", env=headless_env(**env))
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: --explore opens a window") and said in result.stderr
    assert sorted(path.parent.iterdir()) == before and list(tmp_path.iterdir()) == []   # nothing downloaded


# ---- a real window: Xvfb, xdotool, screenshots -------------------------------------------------

def traces(process):
    """The explorer's JSON lines (AUTOENCODER_EXPLORE_TRACE=1), one per drawing, as they come."""
    lines = queue.Queue()

    def read():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)
    threading.Thread(target=read, daemon=True).start()

    def next_until(wanted):
        seen = []
        while True:
            try:
                line = lines.get(timeout=120)   # a hang fails the test instead of stalling it
            except queue.Empty:
                raise AssertionError(f"no such drawing; drawn: {seen}") from None
            assert line is not None, f"the explorer ended: {process.stderr.read()}"
            if line.startswith("{"):
                trace = json.loads(line)
                if wanted(trace):
                    return trace
                seen.append({key: trace[key] for key in ("values", "picked")})

    def newest(trace):
        """The last drawing so far, trace if none came after it: where the sliders are now."""
        while True:
            try:
                line = lines.get_nowait()
            except queue.Empty:
                return trace
            if line is not None and line.startswith("{"):
                trace = json.loads(line)
    next_until.newest = newest
    return next_until


def xdotool(display, *args):
    return subprocess.run(["xdotool", *map(str, args)], env={"DISPLAY": display}, check=True,
                          capture_output=True, text=True).stdout


def drawn_digit(display, window_id, box, path):
    """The digit on screen, (28, 28) in [0, 1]: the centre of each of its pixels in a screenshot of
    the window. box: the image's (x0, y0, x1, y1) in the window, from the trace."""
    subprocess.run(["import", "-display", display, "-window", window_id, str(path)], check=True)
    with PIL.Image.open(path) as image:
        grey = np.asarray(image.convert("RGB")).mean(2) / 255
    x0, y0, x1, y1 = box
    centres = (np.arange(28) + 0.5) / 28
    rows, columns = (y0 + centres * (y1 - y0)).astype(int), (x0 + centres * (x1 - x0)).astype(int)
    return grey[rows[:, None], columns[None, :]]


def on_screen(display, window_id, box, path, expected, seconds=10):
    """The digit on screen once it is expected (within 0.02 a pixel), or as it is after seconds:
    Tk shows a drawing a moment after matplotlib reports it, so one screenshot may be early."""
    end = time.monotonic() + seconds
    while True:
        digit = drawn_digit(display, window_id, box, path)
        if np.abs(digit - expected).max() < 0.02 or time.monotonic() > end:
            return digit
        time.sleep(0.2)


@needs_a_screen
def test_in_a_window_a_dragged_slider_and_a_clicked_point_draw_the_decoders_digit(
        checkpoint, synthetic_mnist, tmp_path, screen):  # noqa: F811  (the fixture imported above)
    path, _ = checkpoint
    root, arrays = synthetic_mnist
    model = ae.AutoEncoder()
    model.load_state_dict(torch.load(path, weights_only=True)["model"])
    before = sorted(path.parent.iterdir())
    run = start_script("--explore", path, "--data-dir", root, "--no-download",
                       env=headless_env(DISPLAY=screen, MPLBACKEND="TkAgg", AUTOENCODER_EXPLORE_TRACE="1"))
    next_trace = traces(run)
    window_id = xdotool(screen, "search", "--sync", "--onlyvisible", "--name", "Play with the codes").split()[0]
    width = int(dict(line.split("=") for line in xdotool(screen, "getwindowgeometry", "--shell",
                                                         window_id).split())["WIDTH"])
    first = next_trace(lambda t: round(t["size"][0]) == width)     # drawn at the window's own size
    start = on_screen(screen, window_id, first["image"], tmp_path / "start.png",
                      np.clip(decoded(model, first["code"]), 0, 1))
    time.sleep(1)   # the window settled, as a person would look before reaching for the mouse
    first = next_trace.newest(first)    # drawn again meanwhile (a late resize): the sliders' places now

    # drag the first slider's knob along its track
    (x0, y0, x1, y1), low, high = first["sliders"][0], first["low"][0], first["high"][0]
    knob, y = x0 + (first["values"][0] - low) / (high - low) * (x1 - x0), int((y0 + y1) / 2)
    target = int(x0 + (0.1 if knob > (x0 + x1) / 2 else 0.9) * (x1 - x0))   # far from the knob
    xdotool(screen, "mousemove", "--window", window_id, int(knob), y, "sleep", 0.3, "mousedown", 1,
            "sleep", 0.3, "mousemove", "--window", window_id, int((knob + target) / 2), y,
            "sleep", 0.3, "mousemove", "--window", window_id, target, y, "sleep", 0.3, "mouseup", 1)
    per_pixel = (high - low) / (x1 - x0)
    dragged = next_trace(lambda t: abs(t["values"][0] - (low + (target - x0) * per_pixel)) < 2 * per_pixel)
    assert dragged["values"][1:] == first["values"][1:] and dragged["code"] == dragged["values"]
    expected = np.clip(decoded(model, dragged["code"]), 0, 1)
    after_drag = on_screen(screen, window_id, dragged["image"], tmp_path / "dragged.png", expected)
    assert np.abs(after_drag - expected).max() < 0.02
    assert np.abs(after_drag - start).max() > 0.1, "the digit did not change"

    # click a point that stands alone: the sliders take its code, the digit is its decoded code
    positions = np.array(dragged["points"])
    x0, y0 = positions.min(0)
    x1, y1 = positions.max(0)
    i, _ = isolated(positions, (x0 - 21, y0 - 21, x1 + 21, y1 + 21))
    xdotool(screen, "mousemove", "--window", window_id, round(positions[i][0]), round(positions[i][1]),
            "sleep", 0.3, "click", 1)
    picked = next_trace(lambda t: t["picked"] is not None)
    assert picked["picked"] == i
    with torch.no_grad():
        code = model.encoder(torch.tensor(arrays[False][0][i]).reshape(1, 784).float() / 255)[0]
    assert np.allclose(picked["code"], code.numpy(), atol=1e-5) and picked["values"] == picked["code"]
    expected = np.clip(decoded(model, picked["code"]), 0, 1)
    after_click = on_screen(screen, window_id, picked["image"], tmp_path / "clicked.png", expected)
    assert np.abs(after_click - expected).max() < 0.02
    assert np.abs(after_click - after_drag).max() > 0.1, "the digit did not change"

    xdotool(screen, "windowfocus", "--sync", window_id, "key", "q")     # closed as a person would
    out, err = run.communicate(timeout=60)
    assert run.returncode == 0 and err == "", err
    assert "Epoch" not in out and sorted(path.parent.iterdir()) == before   # no training, nothing new


# ---- a real kernel: ipywidgets' sliders --------------------------------------------------------

@pytest.fixture(scope="module")
def kernel():
    """A real IPython kernel in the repository, without a screen; yields run(cell) -> (reply, messages)."""
    pytest.importorskip("ipywidgets", reason="the notebook's sliders need ipywidgets, a test-only "
                        "package: pip install ipywidgets (bash .ci/run installs it)")
    pytest.importorskip("ipykernel", reason="a notebook test needs ipykernel: pip install ipykernel "
                        "jupyter_client (bash .ci/run installs them)")
    jupyter_client = pytest.importorskip("jupyter_client", reason="a notebook test needs "
                                         "jupyter_client: pip install jupyter_client")
    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(REPO), env={**headless_env(), "MPLBACKEND": ""})
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=120)

    def run(code):
        messages = []
        reply = client.execute_interactive(code, timeout=300, output_hook=messages.append)
        return reply["content"], messages
    yield run
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def stderr_of(messages):
    return "".join(m["content"]["text"] for m in messages
                   if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")


def test_in_a_notebook_run_explore_shows_sliders_and_a_slider_changes_the_image(kernel, checkpoint,
                                                                                 synthetic_mnist):
    path, _ = checkpoint
    root, _ = synthetic_mnist
    reply, messages = kernel(f"%run autoencoder.py --explore {path} --data-dir {root} --no-download")
    assert reply["status"] == "ok" and stderr_of(messages) == "", messages
    shown = [m["content"]["data"] for m in messages if m["msg_type"] == "display_data"]
    assert len(shown) == 1 and "application/vnd.jupyter.widget-view+json" in shown[0]

    reply, messages = kernel(
        "import base64, json, autoencoder\nfrom lab import explorer\n"
        f"args = autoencoder.parse_args(['--explore', '{path}', '--data-dir', '{root}', '--no-download'])\n"
        "view = explorer.open_view(args, autoencoder.AutoEncoder, autoencoder.load_mnist, "
        "autoencoder.hyperparameters())\nbefore = view.digit.value")
    assert reply["status"] == "ok", messages
    reply, messages = kernel(       # what a learner's drag does: the slider's value, from the page
        "slider = view.sliders[2]\nslider.value = slider.min + 0.9 * (slider.max - slider.min)\n"
        "print(json.dumps({'changed': view.digit.value != before, 'code': view.explorer.code().tolist(),"
        " 'png': base64.b64encode(view.digit.value).decode(), 'id': view.digit.model_id}))")
    assert reply["status"] == "ok", messages
    printed = json.loads("".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream"))
    assert printed["changed"]
    model = ae.AutoEncoder()
    model.load_state_dict(torch.load(path, weights_only=True)["model"])
    digit = png_digit(base64.b64decode(printed["png"]))
    assert np.abs(digit - np.clip(decoded(model, printed["code"]), 0, 1)).max() <= 0.51 / 255
    # and the page is told: the image's new value goes to the frontend
    updates = [m["content"] for m in messages if m["msg_type"] == "comm_msg"
               and m["content"]["comm_id"] == printed["id"] and m["content"]["data"]["method"] == "update"]
    assert updates and ["value"] in updates[-1]["data"]["buffer_paths"]


def test_in_a_notebook_without_ipywidgets_one_line(kernel, checkpoint, synthetic_mnist):
    path, _ = checkpoint
    root, _ = synthetic_mnist
    kernel("import sys\nsaved = sys.modules.get('ipywidgets')\nsys.modules['ipywidgets'] = None")
    try:
        reply, messages = kernel(f"%run autoencoder.py --explore {path} --data-dir {root} --no-download")
    finally:
        kernel("sys.modules['ipywidgets'] = saved")
    # the one line, as every mistake's in a notebook: IPython shows the SystemExit's message
    errors = [m["content"] for m in messages if m["msg_type"] == "error"]
    assert [error["evalue"] for error in errors] == [
        "error: --explore in a notebook needs ipywidgets: run %pip install ipywidgets, then this cell again"]
    assert stderr_of(messages) == "" and not [m for m in messages if m["msg_type"] == "display_data"]
    for error in errors:
        assert error["ename"] == "SystemExit" and "Traceback" not in "".join(error["traceback"])

