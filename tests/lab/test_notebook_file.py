"""autoencoder.ipynb, the lesson as a notebook (docs/build_notebook.py builds it from autoencoder.py):
it holds the current script's code and texts, every line of the lesson, the outputs of a real run,
and it runs top to bottom in a real Jupyter kernel. nbclient, nbformat and ipykernel are test-only
dependencies, needed by the last test only."""
import ast
import importlib.util
import os

import pytest

import autoencoder as ae
from conftest import REPO

spec = importlib.util.spec_from_file_location("build_notebook", REPO / "docs" / "build_notebook.py")
builder = importlib.util.module_from_spec(spec)
spec.loader.exec_module(builder)
NOT_THE_SCRIPTS = {"setup", "look", "run"}  # the notebook's own cells: Colab's, the data, the run


@pytest.fixture(scope="module")
def stored():
    return builder.read(builder.NOTEBOOK)


def code_cells(notebook):
    return {c["id"]: c for c in notebook["cells"] if c["cell_type"] == "code"}


def outputs_text(cell):
    return "".join(builder.joined(o["text"]) for o in cell["outputs"] if o["output_type"] == "stream")


def pictures(cell):
    return [o for o in cell["outputs"] if "image/png" in o.get("data", {})]


def test_the_notebook_is_built_from_the_current_script(stored):
    difference = builder.difference(stored, builder.build(builder.read_script()))
    assert difference is None, (f"autoencoder.ipynb is stale ({difference}): rebuild it with "
                                f"{builder.COMMAND}")


def test_every_line_of_the_lesson_is_in_the_notebook_in_its_order():
    source = builder.read_script()
    tree = ast.parse(source)
    lines = source.splitlines()[tree.body[0].end_lineno:tree.body[-1].lineno - 1]   # docstring to guard
    lesson = [line for line in lines if line.strip() and not builder.SECTION.match(line)]
    cells = builder.build(source)["cells"]
    code = [line for c in cells if c["cell_type"] == "code" and c["id"] not in NOT_THE_SCRIPTS
            for line in builder.text_of(c).splitlines() if line.strip()]
    assert code == lesson
    assert builder.text_of(cells[-1]).endswith("\nmain([])")   # the guard's main(), with no sys.argv


def test_a_changed_lesson_is_caught_and_a_cell_without_text_stops_the_build(stored):
    source = builder.read_script()
    assert "\nLR = 0.005" in source
    changed = builder.difference(stored, builder.build(source.replace("\nLR = 0.005", "\nLR = 0.01")))
    assert changed is not None and "EPOCH = " in changed
    new_def = source.replace("\n\nloss_func = ", "\n\ndef shuffle():\n    pass\n\n\nloss_func = ")
    with pytest.raises(SystemExit, match=r"a new cell, shuffle, with no text: add TEXTS\['shuffle'\]"):
        builder.build(new_def)
    renamed = source.replace("def to_float_images(", "def as_floats(")
    with pytest.raises(SystemExit, match="as_floats"):
        builder.build(renamed)
    without_guard = source[:source.index('\nif __name__ == "__main__":')]
    with pytest.raises(SystemExit, match="no longer ends with"):
        builder.build(without_guard)


def test_the_stored_notebook_holds_a_real_runs_outputs_and_nothing_of_this_machine(stored):
    cells = code_cells(stored)
    assert "Training images: (60000, 28, 28)" in outputs_text(cells["look"])     # the real MNIST
    assert len(pictures(cells["look"])) == 1                                  # the training digits
    run = outputs_text(cells["run"])
    assert "Device: " in run and f"Epoch:  {ae.EPOCH - 1} | test loss: " in run and "Wrote " in run
    assert run.count("| train loss: ") == ae.EPOCH * 10     # the tutorial's loss lines, all of them
    # the live figure's last frame (its updates replaced it in place) and the 3-D scatter
    assert len(pictures(cells["run"])) == 2
    assert [c["execution_count"] for c in cells.values()] == list(range(1, len(cells) + 1))
    assert stored["metadata"] == builder.METADATA and all(c["metadata"] == {} for c in stored["cells"])
    text = (REPO / "autoencoder.ipynb").read_text(encoding="utf-8")
    assert str(REPO) not in text and "/tmp" not in text
    assert os.path.getsize(REPO / "autoencoder.ipynb") < 1_500_000
    nbformat = pytest.importorskip("nbformat", reason="the notebook's format is checked by "
                                   "nbformat: pip install nbformat")
    nbformat.validate(nbformat.reads(text, as_version=4))


@pytest.fixture(params=["real MNIST", "synthetic MNIST"])
def mnist_root(request):
    if request.param == "real MNIST":
        return request.getfixturevalue("real_mnist")
    return request.getfixturevalue("synthetic_mnist")[0]


def test_the_notebook_runs_top_to_bottom_in_a_kernel(stored, mnist_root):
    for module in ("ipykernel", "nbclient", "nbformat"):
        pytest.importorskip(module, reason=f"running the notebook needs {module}: pip install "
                            "ipykernel nbclient nbformat")
    cells = [dict(c) for c in stored["cells"]]
    assert builder.text_of(cells[-1]).endswith("\nmain([])")
    # the stored run, for one epoch: main([]) with the flags of a short run
    cells[-1]["source"] = builder.text_of(cells[-1]).replace(
        "main([])", 'main(["--epochs", "1", "--no-gif"])')
    notebook = builder.execute({**stored, "cells": cells}, mnist_root, timeout=600)
    executed = code_cells(notebook)
    assert not [o for c in executed.values() for o in c["outputs"] if o["output_type"] == "error"]
    assert len(pictures(executed["look"])) == 1
    run = outputs_text(executed["run"])
    assert "Epoch:  0 | test loss: " in run and "Epoch:  1 |" not in run and "Wrote " in run
    assert len(pictures(executed["run"])) == 2      # the live figure, updated in place, and the scatter
