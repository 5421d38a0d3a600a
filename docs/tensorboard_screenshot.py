"""Draw docs/tensorboard.png and docs/tensorboard_projector.png: a real TensorBoard server on the
runs that --tensorboard logged, drawn by headless Chromium.

    python autoencoder.py --epochs 2 --tensorboard && python autoencoder.py --epochs 2 --code-size 2 --tensorboard
    pip install tensorboard playwright      # test-only, not in requirements.txt
    apt-get install -y chromium             # Playwright drives Debian's Chromium, no browser of its own
    python docs/tensorboard_screenshot.py --logdir results

The scalars page is filtered to the losses, unsmoothed, with every point in the chart's range.
"""
import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request

from playwright.sync_api import sync_playwright

DOCS = os.path.dirname(os.path.abspath(__file__))
CHROMIUM = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logdir", default="results")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", args.logdir,
                               "--host", "127.0.0.1", "--port", str(port)], stderr=subprocess.DEVNULL)
    try:
        for _ in range(60):     # until it answers and has read the runs
            try:
                if urllib.request.urlopen(f"{url}/data/runs", timeout=5).read() != b"[]":
                    break
            except OSError:
                time.sleep(1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM)
            page = browser.new_page(viewport={"width": 1200, "height": 640})
            page.goto(f"{url}/#scalars&tagFilter=%5Eloss%2F&_smoothingWeight=0")
            page.wait_for_timeout(6000)
            page.get_by_text("Ignore outliers in chart scaling").click()    # on by default
            page.wait_for_timeout(3000)
            page.screenshot(path=os.path.join(DOCS, "tensorboard.png"))
            page.goto(f"{url}/#projector")
            page.wait_for_timeout(12000)    # it computes the codes' PCA in the page
            page.screenshot(path=os.path.join(DOCS, "tensorboard_projector.png"))
            browser.close()
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
