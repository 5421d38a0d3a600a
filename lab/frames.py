"""The live figure's updates drawn off screen, as pictures: for a notebook, the animation and
TensorBoard. The figure is drawn once; each frame then redraws only what changes."""
import numpy as np
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg

def paint(figure, frame):
    """One update of the live figure (title, reconstructions, codes) drawn off screen, as a PIL
    image: for a notebook, and for the animation."""
    if figure.painter is None:
        figure.painter = FramePainter(figure)
    return figure.painter.paint(*frame)


class FramePainter:
    """Draws the live figure's updates off screen, for the GIF and a notebook. The figure is
    drawn once; each frame then redraws only what changes, the reconstructions, codes and title."""
    def __init__(self, figure, dpi=80):
        # the lesson's LiveFigure, as a file-only twin of the one on screen
        self.twin = type(figure)(figure.view_data, show=None, code_size=figure.code_size)
        self.twin.fig.set_dpi(dpi)
        self.canvas = FigureCanvasAgg(self.twin.fig)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.twin.fig.bbox)   # without a title

    def paint(self, title, decoded_data, encoded_data):
        self.canvas.restore_region(self.background)
        self.twin.draw(title, decoded_data, encoded_data)
        for image in [*self.twin.recon, *self.twin.codes]:
            self.twin.fig.draw_artist(image)
            for spine in image.axes.spines.values():    # drawn over the image's edge
                self.twin.fig.draw_artist(spine)
        self.twin.fig.draw_artist(self.twin.title)
        return PIL.Image.fromarray(np.asarray(self.canvas.buffer_rgba())[..., :3].copy())
