"""The canvas: a QGraphicsScene that draws a Document, and the view the user works in."""

from gui.canvas.scene import CanvasScene
from gui.canvas.view import CanvasView

__all__ = ["CanvasScene", "CanvasView"]
