"""Build autoencoder.ipynb, the lesson as a notebook, from autoencoder.py, and store the outputs of
a real run on MNIST in it. After any change to autoencoder.py, one command (30 to 45 s on an idle
2-core CPU, as long as the default run takes):

    python docs/build_notebook.py                       # MNIST from ./mnist/, as the script reads it
    python docs/build_notebook.py --data-dir DIR        # MNIST from DIR (DIR/MNIST/raw/...)
    python docs/build_notebook.py --text-only           # only the texts below changed: keep the outputs

It needs ipykernel, nbclient and nbformat (dev tools, not in requirements.txt):
`pip install ipykernel nbclient nbformat`. The script is split along its own structure: each
`# ---- ... ----` section becomes a heading, each top-level def or class a cell, each run of other
statements (the imports, a block of constants with its comment) a cell; every line of the
script's code appears in the notebook unchanged, in the script's order. Before each cell comes
its text from TEXTS below, keyed by the name the cell defines: a cell without a text, or a text
without a cell, stops the build, so that no text is silently lost when the code changes. The
script's `if __name__ == "__main__":` block becomes a cell that calls main([]), since a kernel's
sys.argv holds the kernel's own arguments. The notebook runs in a temporary folder holding links
to lab/ and to the data, so the run writes into no folder of the repository, and the stored
notebook keeps no timings or paths of this machine. tests/lab/test_notebook_file.py fails when
the stored notebook differs from what this script builds from the current autoencoder.py.
"""
import argparse
import ast
import base64
import io
import json
import os
import re
import tempfile

DOCS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(DOCS)
SCRIPT = os.path.join(REPO, "autoencoder.py")
NOTEBOOK = os.path.join(REPO, "autoencoder.ipynb")
COMMAND = "python docs/build_notebook.py"
PATH = re.compile(r"(?<![`\w])(\w[\w.]*/[\w./]*|\w+\.py)(?![`\w])")     # lab/, lab/__init__.py
SECTION = re.compile(r"^# -{4} (.*?)[\s-]*$")    # "# ---- Mnist digits dataset -------"

TITLE = """# The 404 autoencoder lesson, as a notebook

{docstring}

This notebook is the lesson's own code, `autoencoder.py` cut into cells in the script's order,
with a few sentences before each cell: what it does, what to look for, what to try. The outputs
stored below come from a real run on MNIST (10 epochs on a CPU), so the notebook reads without
running; run it from the top to train your own. It is built from the script by
`docs/build_notebook.py`, and a test fails when the two differ.

**Open it** in Jupyter or JupyterLab, from this folder, with the `.venv` of the README's *Run it*
as the kernel (`pip install ipykernel` in it the first time); in VS Code (open the file, pick the
`.venv` as the kernel, *Run All*); or in Google Colab (*File > Open notebook > GitHub*: torch and
torchvision are already there; put the address you cloned this repository from in the first
cell, which fetches `lab/` beside the notebook). The first run downloads MNIST into `./mnist/`,
about 12 MB.

The other way to run the lesson in a notebook is the script itself, with any of its flags:
`%run autoencoder.py --epochs 2`."""

SETUP = (
    """**Only in Colab.** Colab opens this notebook on its own, but the lesson imports the package
`lab/` that lies beside it in the repository (the command line, the evaluation, the pictures:
everything beyond the tutorial). In Colab, put the address you cloned the repository from in
`REPOSITORY` (this project has no public address written into it), and this cell fetches it and
moves into it; or upload `lab/` beside the notebook. In Jupyter or VS Code, opened in the
repository, it does nothing.""",
    """# Colab opens the notebook alone: fetch the repository, whose package lab/ the lesson imports
import os
import subprocess

REPOSITORY = ""     # in Colab: the git address you cloned this repository from
if not os.path.isdir("lab"):
    if not REPOSITORY:
        raise SystemExit("lab/ is not beside this notebook: put the repository's git address in "
                         "REPOSITORY above (or upload lab/ beside the notebook) and run this cell again")
    subprocess.run(["git", "clone", "--depth", "1", REPOSITORY, "autoencoder"], check=True)
    os.chdir("autoencoder")""")

# the text before each cell, keyed by the name the cell defines ("imports" for the imports)
TEXTS = {
    "imports": """The imports: torch and torchvision for the network and MNIST, matplotlib for the
pictures. The last lines import modules of `lab/`, the package beside the lesson that holds
everything beyond the tutorial. The lesson calls into it by module (`data.check_data_files(...)`,
`kinds.build(...)`), so each call says where the helper lives; the lesson reads complete without
opening any of them. (`gc` and `sys` serve the script's last lines, which run it from a terminal.)""",

    "EPOCH": """The tutorial's hyperparameters. `EPOCH` passes over the 60,000 training digits,
`BATCH_SIZE` digits per step of Adam, `LR` its learning rate, `N_TEST_IMG` digits in the live
figure. These constants are the defaults of the command-line flags (`--epochs`, `--batch-size`,
`--lr`, ...), and `main()` reads them when it parses its flags, not before: change one here, run
this cell again, and the run at the end uses it. Try `EPOCH = 2` for a quick run, or `LR = 0.05`
to see what too large a step does to the loss lines.""",

    "HIDDEN": """The network's shape: the encoder narrows the 784 pixels through 128, 64 and 12 numbers
to a code of `CODE_SIZE` = 3 numbers, and the decoder widens them back the same way. Three numbers
is a hard squeeze, chosen so that the codes can be drawn in 3-D at the end. Try `CODE_SIZE = 2`
(a flat map of the codes instead of the 3-D scatter, and blurrier digits), `CODE_SIZE = 32`
(sharp digits, and the codes drawn along their main directions), or `ACTIVATION = "relu"`.""",

    "parse_args": """The flags over the constants above. `lab/cli.py` defines every flag, with its
default taken from the constant of the same name. A notebook has no command line: the run at the
end passes its flags as a list, and this function turns the list into settings. To see what a
list becomes, try `parse_args(["--code-size", "2"]).code_size` in a new cell.""",

    "hyperparameters": """Every UPPER_CASE name defined so far, by name: here the notebook's own, in
the script the file's. It is read when the flags are parsed, so an edited constant counts as
soon as its cell has run again.""",

    "load_mnist": """The data. torchvision downloads MNIST into `DATA_DIR` the first time and reads
the 60,000 training digits (or, with `train=False`, the 10,000 test digits): uint8 images of
28 x 28 pixels from 0 to 255, and their labels 0 to 9. The two helpers of `lab/data.py` turn a
damaged file or a failed download into one line that says what to do. The tutorial read
`.train_data` and `.train_labels`, which torchvision has since removed; `.data` and `.targets`
are their names today.""",

    "to_float_images": """The network wants floats in [0, 1], one row of 784 pixels per image.
This converts all the images at once, on the device that trains (a GPU when there is one),
instead of batch by batch: the 60,000 training images take 188 MB as floats.""",

    "batches": """The tutorial's DataLoader in a few lines: a fresh random order each epoch, cut
into slices of `BATCH_SIZE` images. Each batch comes as `(b_x, b_y)`, the tutorial's names: the
network's input and its target, the same images for this autoencoder (a denoising one,
`--noise 0.5`, corrupts the input only and keeps the clean target).""",

    "look": """Not in the script: a look at the data before training, as the tutorial's first
picture. These are the first `N_TEST_IMG` training digits, the ones the live figure rebuilds
during the run. The labels are for us only: the autoencoder never sees them.""",

    "AutoEncoder": """The tutorial's model. The encoder is a stack of `nn.Linear` layers with a
tanh between each two, 784 -> 128 -> 64 -> 12 -> 3; the decoder mirrors it, 3 -> 12 -> 64 ->
128 -> 784, and a sigmoid puts each pixel back into (0, 1). `forward` returns both the code
(`encoded`, 3 numbers per image) and the rebuilt image (`decoded`). `network.layers()` writes out
the layer-activation pairs that the tutorial listed by hand. Try `AutoEncoder()` in a new cell to
see the layers, and `AutoEncoder()(torch.rand(2, 784))[0].shape`: 2 codes of 3 numbers.""",

    "make_optimizer": """Adam over every weight of the network, at `LR`, as in the tutorial.
`fused=True` updates all the weights in one go, which is faster, not different. `--optimizer
adadelta` or `sgd` takes one of the optimizers that other sources trained with, from
`lab/optimizers.py`.""",

    "loss_func": """The loss: the mean squared difference between the pixels of an image and
those of its reconstruction. The network learns to give back its own input, through the
bottleneck of 3 numbers; no label appears anywhere in the loss.""",

    "LiveFigure": """The live figure: the first `N_TEST_IMG` training digits on top, the network's
reconstructions of them below, redrawn every `LOG_EVERY` steps. From a terminal it is a window
(`plt.ion()`, as in the tutorial); in a notebook it is one picture in the run's output,
replaced in place each time rather than added, so that the output does not grow by a hundred
pictures (`lab/display.py` decides where the figures go). Each update is also kept as a frame
of `reconstructions.gif`.""",

    "train": """One epoch, the tutorial's loop: for each batch, the forward pass, the loss between
the reconstruction and the target, then `zero_grad()`, `backward()` and `step()`. Every
`LOG_EVERY` steps it prints the tutorial's loss line and redraws the live figure. The other
lines are there for what lies beyond the tutorial: other losses, learning-rate schedules, other
kinds of autoencoder (`kinds.before_step` does nothing for this one) and a stop that saves
first (*Kernel > Interrupt* in a notebook, Ctrl-C in a terminal: the run ends after the step,
with its checkpoint written).""",

    "plot_latent": """The tutorial's 3-D picture: each training digit drawn at its code, the 3
numbers the encoder gives it, as its label in its colour. The labels only colour the points: the
autoencoder never saw them, so digits of a kind that land together were put there by what they
look like. The tutorial's `Axes3D(fig)` draws nothing on today's matplotlib;
`add_subplot(projection="3d")` replaces it.""",

    "main": """The run, step by step: the flags, an output folder (`./results/tutorial/` for the
tutorial's settings), the seed, the device (CUDA when there is one), the data, the model, Adam
and the live figure; then `EPOCH` epochs of `train()`, each followed by the loss on the 10,000
test images, which training never sees, and a checkpoint; then the codes of the first `N_PLOT`
training digits drawn by `plot_latent()`, and every picture and number written into the folder.
(`--explore PATH` skips all of that and opens a trained run's codes to play with.)
`errors.in_one_line()` turns a user's mistake (a bad flag, a download that fails) into one line
instead of a traceback.""",

    "run": """Run the lesson. From a terminal the script's last lines call `main()`, which reads
the command line; in a notebook the flags go into the list instead, and `main([])` is the
tutorial's run: 10 epochs, from half a minute to a few minutes on a CPU. Look for the live figure
above the loss lines, one picture redrawn in place as the grey blobs become digits (below, its
last frame), the test loss after each epoch, and at the end the 3-D scatter of the codes. The
files go to `./results/tutorial/`: `reconstructions.gif`, `latent_3d.png`, `loss.png`, the
checkpoint `autoencoder.pt` and more. Try `main(["--epochs", "1"])` for a quick run,
`main(["--code-size", "2"])`, `main(["--variational"])`, or any flag that
`python autoencoder.py --help` lists; *Kernel > Interrupt* stops after the current step and saves.""",
}

# cells that only the notebook has, after the cell of the key: the tutorial's look at the data
EXTRA = {"batches": ("look", """# Not in autoencoder.py: the training digits that the live figure shows below
train_x, train_y = load_mnist(DATA_DIR)     # downloads MNIST the first time
print(f"Training images: {tuple(train_x.shape)}, labels: {tuple(train_y.shape)}")
fig, axes = plt.subplots(1, N_TEST_IMG, figsize=(N_TEST_IMG, 1.4))
for ax, image, label in zip(axes, train_x, train_y):
    ax.imshow(image, cmap="gray")
    ax.set(title=f"label {label.item()}", xticks=(), yticks=())
plt.show()""")}

RUN = """# From a terminal the flags come from the command line; here they go into this list:
# main([]) is the tutorial's run, main(["--epochs", "1"]) a quick one
main([])"""


def fail(message):
    raise SystemExit(f"{os.path.relpath(__file__, REPO)}: {message}")


def defined_name(node):
    """The name a top-level statement defines, which keys its text: the def's or class's, the
    first assignment target's, or "imports"."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return "imports"
    target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
    if isinstance(target, ast.Name):
        return target.id
    fail(f"autoencoder.py line {node.lineno}: a top-level statement that names nothing: "
         "give it a cell of its own in this script")


def is_def(node):
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))


def lesson_cells(source):
    """The script cut into [(key, section title or None, code)], in order, without its docstring,
    its section lines and its `if __name__ == "__main__":` block; and the docstring."""
    lines = source.splitlines()
    tree = ast.parse(source)
    body = list(tree.body)
    docstring = ast.get_docstring(tree)
    if docstring is not None:
        body = body[1:]
    guard = body[-1] if body else None
    if not (isinstance(guard, ast.If) and ast.unparse(guard.test) == "__name__ == '__main__'"):
        fail('autoencoder.py no longer ends with `if __name__ == "__main__":`: the notebook\'s '
             "last cell, main([]), stands for that block")
    body = body[:-1]
    starts = []     # (first line of the statement with its comments above, 0-based; node)
    for node in body:
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1
        while first > 0 and lines[first - 1].startswith("#") and not SECTION.match(lines[first - 1]):
            first -= 1
        starts.append((first, node))
    cells, previous = [], None
    for index, (first, node) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else guard.lineno - 1
        gap = lines[previous.end_lineno:first] if previous else lines[:first]
        section = next((SECTION.match(line).group(1) for line in gap if SECTION.match(line)), None)
        commented = first < node.lineno - 1 and previous and not lines[first - 1].strip()
        if (not cells or section or is_def(node) or is_def(previous) or commented):
            cells.append([defined_name(node), section, []])
        cells[-1][2] += [line for line in lines[first:end] if not SECTION.match(line)]
        previous = node
    return [(key, section, "\n".join(code).strip("\n")) for key, section, code in cells], docstring


def markdown(key, section):
    if key not in TEXTS:
        fail(f"autoencoder.py has a new cell, {key}, with no text: add TEXTS[{key!r}] (a few "
             f"sentences: what it does, what to look for, what to try), then run {COMMAND}")
    heading = ""
    if section:     # a long title's words after the colon go below the heading
        title, _, rest = section.partition(": ") if len(section) > 50 else (section, "", "")
        heading = f"## {title}\n\n" + (f"*{rest[0].upper()}{rest[1:]}.*\n\n" if rest else "")
    return heading + TEXTS[key]


def cell(kind, key, text):
    """A notebook cell as nbformat 4.5 writes it, with an id that stays the same between builds."""
    lines = text.splitlines(keepends=True)
    made = {"cell_type": kind, "id": key.replace("_", "-"), "metadata": {}, "source": lines}
    if kind == "code":
        made.update(execution_count=None, outputs=[])
    return made


def build(source):
    """The notebook of the script's source, without outputs."""
    pieces, docstring = lesson_cells(source)
    prose = "\n\n".join(p for p in (docstring or "").split("\n\n") if not p.startswith("    "))
    prose = PATH.sub(r"`\1`", prose)      # lab/__init__.py as code, not lab/<b>init</b>.py
    cells = [cell("markdown", "title", TITLE.format(docstring=prose)),
             cell("markdown", "setup-text", SETUP[0]), cell("code", "setup", SETUP[1])]
    for key, section, code in pieces:
        cells += [cell("markdown", f"{key}-text", markdown(key, section)), cell("code", key, code)]
        if key in EXTRA:
            extra, code = EXTRA[key]
            cells += [cell("markdown", f"{extra}-text", TEXTS[extra]), cell("code", extra, code)]
    cells += [cell("markdown", "run-text", TEXTS["run"]), cell("code", "run", RUN)]
    used = {key for key, _, _ in pieces} | {extra for extra, _ in EXTRA.values()} | {"run"}
    if set(TEXTS) - used:
        fail(f"TEXTS[{sorted(set(TEXTS) - used)[0]!r}] belongs to no cell of autoencoder.py any "
             "more: move it to the cell that took its place, or delete it")
    if set(EXTRA) - used:
        fail(f"EXTRA[{sorted(set(EXTRA) - used)[0]!r}]: autoencoder.py has no such cell any more")
    return {"cells": cells, "metadata": METADATA, "nbformat": 4, "nbformat_minor": 5}


METADATA = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"}}


def joined(text):
    """A cell's source or a stream's text, which a notebook file may hold as a list of lines."""
    return "".join(text) if isinstance(text, list) else text


def text_of(cell):
    return joined(cell["source"])


def difference(stored, built):
    """None when the stored notebook has the built one's cells, text and code; else what differs,
    in a few words."""
    old = [(c["cell_type"], text_of(c)) for c in stored["cells"]]
    new = [(c["cell_type"], text_of(c)) for c in built["cells"]]
    for number, (a, b, made) in enumerate(zip(old, new, built["cells"]), 1):
        if a != b:
            first = next((line for line in b[1].splitlines() if line.strip()), "")
            return f"cell {number} ({made['cell_type']}, {first[:60]!r}) differs"
    if len(old) != len(new):
        return f"it has {len(old)} cells where autoencoder.py gives {len(new)}"
    return None


def execute(notebook, data_dir, timeout):
    """Run every cell in a real kernel, in a temporary folder with links to lab/ and to the data
    (as ./mnist, the script's DATA_DIR); returns the notebook with its outputs."""
    import nbclient
    import nbformat
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    with tempfile.TemporaryDirectory() as folder:
        os.symlink(os.path.join(REPO, "lab"), os.path.join(folder, "lab"))
        os.symlink(os.path.abspath(data_dir), os.path.join(folder, "mnist"))
        client = nbclient.NotebookClient(nbformat.reads(json.dumps(notebook), 4), timeout=timeout,
                                         kernel_name="python3", record_timing=False,
                                         resources={"metadata": {"path": folder}})
        executed = client.execute(env=env)
    return json.loads(nbformat.writes(executed))


def tidy(notebook):
    """The outputs as Jupyter shows them (a stream's pieces joined), PNGs compressed harder, and
    no metadata of this machine or this run, so that a rebuild changes only what changed."""
    import PIL.Image
    for cell in notebook["cells"]:
        cell["metadata"] = {}
        outputs = []
        for output in cell.get("outputs", []):
            last = outputs[-1] if outputs else {}
            if output["output_type"] == last.get("output_type") == "stream" and output["name"] == last["name"]:
                last["text"] = joined(last["text"]) + joined(output["text"])
                continue
            if "image/png" in output.get("data", {}):
                png = io.BytesIO()
                PIL.Image.open(io.BytesIO(base64.b64decode(output["data"]["image/png"]))).save(
                    png, format="png", optimize=True)
                output["data"]["image/png"] = base64.b64encode(png.getvalue()).decode() + "\n"
            outputs.append(output)
        for output in outputs:
            if output["output_type"] == "stream":
                output["text"] = joined(output["text"]).splitlines(keepends=True)
        if "outputs" in cell:
            cell["outputs"] = outputs
    notebook["metadata"] = METADATA
    return notebook


def keep_outputs(notebook, stored):
    """--text-only: the stored outputs of each code cell, refused when any code changed."""
    outputs = {c["id"]: c for c in stored["cells"] if c["cell_type"] == "code"}
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            old = outputs.get(cell["id"])
            if old is None or text_of(old) != text_of(cell):
                fail(f"the code of cell {cell['id']} changed: run {COMMAND} without --text-only")
            cell.update(outputs=old["outputs"], execution_count=old["execution_count"])
    return notebook


def write(notebook, path):
    """As nbformat writes it: one-space indents, sorted keys, a newline at the end."""
    with open(path, "w", encoding="utf-8", newline="\n") as file:
        file.write(json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def read(path):
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def read_script():
    with open(SCRIPT, encoding="utf-8") as file:
        return file.read()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.path.join(REPO, "mnist"),
                        help="the folder that holds MNIST/raw/ (default: the repository's mnist/)")
    parser.add_argument("--text-only", action="store_true",
                        help="only the texts changed: keep the stored outputs, run nothing")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a cell may take")
    args = parser.parse_args()
    notebook = build(read_script())
    if args.text_only:
        notebook = keep_outputs(notebook, read(NOTEBOOK))
    else:
        notebook = tidy(execute(notebook, args.data_dir, args.timeout))
    write(notebook, NOTEBOOK)
    print(f"wrote {os.path.relpath(NOTEBOOK)}: {len(notebook['cells'])} cells, "
          f"{os.path.getsize(NOTEBOOK) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
