"""Draw docs/notebook.png: a real Jupyter kernel runs `%run autoencoder.py --epochs 2`, and the
notebook is drawn as it stands mid-run (after the live figure's 14th update) and at the end.

    pip install ipykernel jupyter_client nbformat nbconvert   # test-only, not in requirements.txt
    apt-get install -y chromium                                # the page is drawn headless
    python docs/notebook_screenshot.py --data-dir ./mnist/

The outputs are rebuilt from the kernel's own messages as Jupyter shows them: streams joined,
each display replaced in place by its updates.
"""
import argparse
import copy
import os
import subprocess
import sys
import tempfile

import jupyter_client
import nbconvert
import nbformat

DOCS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(DOCS)


def apply(outputs, message):
    """Add one iopub message to a cell's outputs, as the notebook does."""
    kind, content = message["msg_type"], message["content"]
    if kind == "stream":
        if outputs and outputs[-1]["output_type"] == "stream" and outputs[-1]["name"] == content["name"]:
            outputs[-1]["text"] += content["text"]
        else:
            outputs.append(nbformat.v4.new_output("stream", name=content["name"], text=content["text"]))
    elif kind == "display_data":
        output = nbformat.v4.new_output("display_data", data=content["data"])
        output["_id"] = content.get("transient", {}).get("display_id")
        outputs.append(output)
    elif kind == "update_display_data":
        for output in outputs:
            if output.get("_id") == content["transient"]["display_id"]:
                output["data"] = content["data"]


def screenshot(source, outputs, path, height):
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source, execution_count=1)
    cell["outputs"] = [{k: v for k, v in o.items() if k != "_id"} for o in copy.deepcopy(outputs)]
    notebook.cells = [nbformat.v4.new_markdown_cell("## The 404 autoencoder lesson, in a notebook"), cell]
    html, _ = nbconvert.HTMLExporter(template_name="lab").from_notebook_node(notebook)
    with tempfile.NamedTemporaryFile("w", suffix=".html", delete=False) as page:
        page.write(html)
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--hide-scrollbars",
                    f"--window-size=900,{height}", f"--screenshot={path}", page.name],
                   check=True, capture_output=True)
    os.remove(page.name)
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="./mnist/")
    parser.add_argument("--at-update", type=int, default=14, help="the update shown mid-run")
    args = parser.parse_args()
    source = "%run autoencoder.py --epochs 2" + (
        f" --data-dir {args.data_dir}" if args.data_dir != "./mnist/" else "")   # into ./results/tutorial/
    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=REPO, env={**os.environ, "DISPLAY": "", "MPLBACKEND": ""})
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=120)
    outputs, updates = [], 0

    def hook(message):
        nonlocal updates
        apply(outputs, message)
        if message["msg_type"] == "update_display_data":
            updates += 1
            if updates == args.at_update:
                screenshot(source, outputs, os.path.join(DOCS, "notebook.png"), 900)
    try:
        reply = client.execute_interactive(source, timeout=600, output_hook=hook)
        assert reply["content"]["status"] == "ok", reply["content"]
        screenshot(source, outputs, os.path.join(tempfile.gettempdir(), "notebook_end.png"), 2200)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


if __name__ == "__main__":
    sys.exit(main())
