"""The tutorial's two animations: every update of the live figure, and the 3-D scatter turning.
Both are drawn after training, off screen, and written as GIFs."""
import math
import time

import matplotlib.figure
import numpy as np
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from mpl_toolkits.mplot3d import proj3d

from lab import checkpoints
from lab.frames import paint

def save_animations(args, figure, scatter, name):
    """reconstructions.gif, every update of the live figure, and latent_3d.gif, the 3-D scatter
    turning (name: its picture's, latent_3d, or latent_2d or _1d, which do not turn); returns
    their names."""
    start = time.perf_counter()
    save_replay(figure, checkpoints.out_path(args, "reconstructions.gif"))
    turning = name == "latent_3d"       # a flat scatter has no other side to turn to
    if turning:
        save_turning(scatter, checkpoints.out_path(args, "latent_3d.gif"))
    print(f"Animations: reconstructions.gif ({len(figure.frames)} frames)"
          + " and latent_3d.gif" * turning
          + f" took {time.perf_counter() - start:.1f} s (--no-gif skips them)")
    return ["reconstructions.gif"] + ["latent_3d.gif"] * turning


def save_replay(figure, path, fps=5):
    """Every update of the live figure as a GIF, drawn after training."""
    durations = [1000 // fps] * len(figure.frames)
    durations[-1] += 2000           # hold the end for 2 s
    save_gif(path, [paint(figure, frame) for frame in figure.frames], durations)


def save_turning(fig, path, frames=36, fps=8, dpi=60):
    """The 3-D scatter turning once around its vertical axis, as a GIF.

    Its 200 digit labels were four fifths of each frame's time, drawn anew each time though
    they never change: each label is drawn once, as a small picture, and pasted where its
    code lands in each view, in the order matplotlib draws them. The title, which stays where
    it is, is drawn in the first frame only and copied into the others.
    """
    ax = fig.axes[0]
    elevation, azimuth = ax.elev, ax.azim
    texts = list(ax.texts)
    stamps = label_stamps(texts, dpi)
    points = np.array([text.get_position_3d() for text in texts])      # (200, 3)
    for text in texts:      # hidden ones would still be projected in every frame
        text.remove()
    window, original_dpi, title_shown = fig.canvas, fig.dpi, ax.title.get_visible()
    canvas = FigureCanvasAgg(fig)   # off screen, as savefig does: a window must not resize
    fig.set_dpi(dpi)
    try:
        images = []
        for i in range(frames):
            ax.view_init(elevation, azimuth + 360 * i / frames)
            canvas.draw()
            frame = np.array(canvas.buffer_rgba())[..., :3]
            if i == 0:
                title = pixel_box(ax.title.get_window_extent(), frame.shape[0])
                title_pixels = frame[title].copy()
                ax.title.set_visible(False)
            frame[title] = title_pixels
            x, y, _ = proj3d.proj_transform(*points.T, ax.M)
            anchors = ax.transData.transform(np.column_stack([x, y]))    # pixels from bottom left
            images.append(PIL.Image.fromarray(paste_stamps(frame, anchors, stamps)))
    finally:
        fig.set_dpi(original_dpi)
        fig.set_canvas(window)
        ax.title.set_visible(title_shown)
        ax.view_init(elevation, azimuth)
        for text in texts:
            ax.add_artist(text)
    save_gif(path, images, [1000 // fps] * frames)


def label_stamps(texts, dpi):
    """A stamp (text_stamp) for each text, in their order, each distinct one drawn once: ten for
    the ten digits' labels."""
    drawn = {}
    for text in texts:
        if text_key(text) not in drawn:
            drawn[text_key(text)] = text_stamp(text, dpi)
    return [drawn[text_key(text)] for text in texts]


def pixel_box(box, height):
    """The rows and columns of an image (height, width, ...) that hold a matplotlib Bbox in
    pixels from the bottom left, with a pixel to spare on each side."""
    top, bottom = max(math.floor(height - box.y1) - 1, 0), math.ceil(height - box.y0) + 1
    return slice(top, bottom), slice(max(math.floor(box.x0) - 1, 0), math.ceil(box.x1) + 1)


def text_key(text):
    return text.get_text(), text.get_fontsize(), text.get_color(), text.get_bbox_patch().get_facecolor()


def text_stamp(text, dpi):
    """A text with a coloured box (ax.text(..., backgroundcolor=...)) drawn alone at dpi: its colours
    times its opacity (h, w, 3), 1 - its opacity (h, w, 1), and where its top-left pixel lies
    from the text's anchor, (right, down)."""
    fig = matplotlib.figure.Figure(figsize=(2, 2), dpi=dpi, facecolor="none")
    canvas = FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, text.get_text(), fontsize=text.get_fontsize(), color=text.get_color(),
             ha=text.get_ha(), va=text.get_va(), backgroundcolor=text.get_bbox_patch().get_facecolor())
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba()).astype(np.float32) / 255
    rows, cols = np.nonzero(rgba[..., 3])
    top, left = rows.min(), cols.min()
    rgba = rgba[top:rows.max() + 1, left:cols.max() + 1]
    anchor = fig.bbox.width / 2, fig.bbox.height / 2    # (0.5, 0.5): pixels from the bottom left
    opacity = rgba[..., 3:]
    return (255 * rgba[..., :3] * opacity, 1 - opacity,
            (left - round(anchor[0]), top - round(fig.bbox.height - anchor[1])))


def paste_stamps(frame, anchors, stamps):
    """frame (H, W, 3) uint8 with each stamp of text_stamp laid over it at its anchor, (x, y)
    pixels from the bottom left, in order: the later ones on top."""
    height, width = frame.shape[:2]
    margin = max(max(colour.shape[:2]) + max(map(abs, offset)) for colour, _, offset in stamps)
    canvas = np.zeros((height + 2 * margin, width + 2 * margin, 3), np.float32)
    canvas[margin:-margin, margin:-margin] = frame
    for (x, y), (colour, clear, (right, down)) in zip(anchors, stamps):
        top, left = margin + round(height - y) + down, margin + round(x) + right
        if 0 <= top <= canvas.shape[0] - len(colour) and 0 <= left <= canvas.shape[1] - colour.shape[1]:
            region = canvas[top:top + colour.shape[0], left:left + colour.shape[1]]
            region *= clear
            region += colour
    return canvas[margin:-margin, margin:-margin].round().astype(np.uint8)


def save_gif(path, images, durations):
    """PIL images as a looping GIF, in one palette for all (the last image's): far quicker than
    a palette for each. Pillow maps colours to a given palette through a coarse lookup that
    would turn the white page into the palette's first near-white (252): make those white."""
    palette = images[-1].quantize(256)
    colours = np.array(palette.getpalette()).reshape(-1, 3)
    colours[(colours >= 248).all(1)] = 255
    palette.putpalette(colours.ravel().tolist())
    images = [image.quantize(palette=palette, dither=PIL.Image.Dither.NONE) for image in images]
    checkpoints.save_atomically(path, lambda name: images[0].save(
        name, save_all=True, append_images=images[1:], duration=durations, loop=0))
