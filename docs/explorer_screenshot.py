"""Draw docs/explorer.png: `python autoencoder.py --explore` on a real screen (Xvfb), a point of the
scatter clicked with xdotool as a person would click it, and the window taken as it then shows.

    apt-get install -y xvfb imagemagick xdotool     # a virtual screen, a screenshot, a mouse
    python autoencoder.py --no-show                  # a default run: results/tutorial/autoencoder.pt
    python docs/explorer_screenshot.py --data-dir ./mnist/

The explorer prints each drawing as a JSON line (AUTOENCODER_EXPLORE_TRACE=1): where its points
are on the screen, so the click lands on one.
"""
import argparse
import json
import os
import subprocess
import sys
import time

DOCS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(DOCS)
DISPLAY = ":87"


def xdotool(*args):
    return subprocess.run(["xdotool", *map(str, args)], env={"DISPLAY": DISPLAY}, check=True,
                          capture_output=True, text=True).stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.path.join(REPO, "mnist"))
    parser.add_argument("--checkpoint", default=os.path.join("results", "tutorial", "autoencoder.pt"))
    parser.add_argument("--pick", type=int, default=1, help="the test digit whose point is clicked")
    parser.add_argument("--out", default=os.path.join(DOCS, "explorer.png"))
    args = parser.parse_args()
    screen = subprocess.Popen(["Xvfb", DISPLAY, "-screen", "0", "1400x900x24"], stderr=subprocess.DEVNULL)
    time.sleep(1)
    env = {**os.environ, "DISPLAY": DISPLAY, "MPLBACKEND": "TkAgg", "AUTOENCODER_EXPLORE_TRACE": "1"}
    run = subprocess.Popen([sys.executable, os.path.join(REPO, "autoencoder.py"), "--explore", args.checkpoint,
                            "--data-dir", args.data_dir, "--no-download"], env=env, cwd=REPO,
                           stdout=subprocess.PIPE, text=True)
    try:
        window = xdotool("search", "--sync", "--onlyvisible", "--name", "Play with the codes").split()[0]
        xdotool("windowsize", "--sync", window, 1300, 760)
        trace = None
        for line in run.stdout:     # the drawing at the window's new size
            if line.startswith("{"):
                trace = json.loads(line)
                if round(trace["size"][0]) == 1300:
                    break
        time.sleep(1)
        x, y = trace["points"][args.pick]
        xdotool("mousemove", "--window", window, round(x), round(y), "sleep", 0.5, "click", 1)
        for line in run.stdout:
            if line.startswith("{") and json.loads(line)["picked"] is not None:
                break
        time.sleep(2)   # Tk shows the drawing a moment after matplotlib reports it
        subprocess.run(["import", "-display", DISPLAY, "-window", window, args.out], check=True)
        xdotool("windowfocus", "--sync", window, "key", "q")
        run.wait(timeout=60)
    finally:
        run.kill()
        screen.kill()
    print(f"wrote {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
