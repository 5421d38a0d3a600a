"""Draw docs/notebook_file.png: the end of autoencoder.ipynb as it reads on GitHub or in Jupyter,
its last cell's text, code and stored outputs (the run's last lines and the 3-D scatter).

    pip install nbconvert                 # test-only, not in requirements.txt
    apt-get install -y chromium           # the page is drawn headless
    python docs/build_notebook.py --data-dir ./mnist/     # the notebook with a real run's outputs
    python docs/notebook_file_screenshot.py
"""
import argparse
import copy
import os
import subprocess
import tempfile

import nbconvert
import nbformat

DOCS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(DOCS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", default="run-text,run", help="the ids of the cells drawn")
    parser.add_argument("--out", default=os.path.join(DOCS, "notebook_file.png"))
    args = parser.parse_args()
    notebook = nbformat.read(os.path.join(REPO, "autoencoder.ipynb"), as_version=4)
    shown = copy.deepcopy(notebook)
    wanted = args.cells.split(",")
    shown.cells = [cell for cell in notebook.cells if cell.get("id") in wanted]
    for cell in shown.cells:    # the stream's middle lines left out: the figure is what shows
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream" and output["text"].count("\n") > 14:
                lines = output["text"].splitlines(keepends=True)
                output["text"] = "".join(lines[:6] + ["...\n"] + lines[-6:])
    html, _ = nbconvert.HTMLExporter(template_name="classic").from_notebook_node(shown)
    with tempfile.TemporaryDirectory() as folder:
        page = os.path.join(folder, "page.html")
        with open(page, "w", encoding="utf-8") as file:
            file.write(html)
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--hide-scrollbars",
                        "--window-size=1000,1450", f"--screenshot={args.out}", f"file://{page}"],
                       check=True, capture_output=True)
    print(f"wrote {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
