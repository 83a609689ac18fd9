"""The canvas: a QGraphicsScene that draws a Document, and the view the user works in."""

from gui.none_guard import guard as _guard_none

_guard_none()  # PySide6 6.12 on Python 3.11 leaks None references: see gui/none_guard.py

from gui.canvas.scene import CanvasScene
from gui.canvas.view import CanvasView

__all__ = ["CanvasScene", "CanvasView"]
