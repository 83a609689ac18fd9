"""Headless pictures of a graph: the editor's own scene drawn into a PNG or an SVG.

``python main.py render FILE -o OUT.png`` uses this, so the README and slides show
exactly what the editor shows (same Document, same CanvasScene, same items).
"""

from __future__ import annotations

import os

MARGIN = 24.0


def _app():
    """A QApplication (scene items need one); offscreen unless a display is set up."""
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance()
    if app is None:
        if not os.environ.get("QT_QPA_PLATFORM"):
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        app = QApplication(["chain-rule-studio-render"])
    return app


def render_scene(scene, out: str, width: int | None = None) -> None:
    """Write ``scene`` fitted into a picture ``width`` pixels wide (PNG) or an SVG."""
    from PySide6.QtCore import QRectF, QSize
    from PySide6.QtGui import QImage, QPainter

    word = getattr(scene, "word_labels", None)
    if word is not None:  # a picture shows every label: word the ones left stale
        word()
    src = scene.items_rect()
    if src.isEmpty():
        src = QRectF(0, 0, 400, 200)
    src = src.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
    width = int(width or 1600)
    if width <= 0:
        raise ValueError("width must be a positive number of pixels")
    height = max(1, round(width * src.height() / src.width()))
    target = QRectF(0, 0, width, height)
    lower = out.lower()
    if lower.endswith(".svg"):
        from PySide6.QtSvg import QSvgGenerator
        gen = QSvgGenerator()
        gen.setFileName(out)
        gen.setResolution(96)  # CSS pixels: browsers show the SVG ``width`` pixels wide
        gen.setSize(QSize(width, height))
        gen.setViewBox(target)
        gen.setTitle("Chain Rule Studio")
        gen.setDescription("A computational graph with the chain rule on every edge")
        painter = QPainter(gen)
        _paint(painter, scene, target, src)
        if not painter.end():
            raise OSError(f"could not write {out}")
        return
    if not lower.endswith(".png"):
        raise ValueError(f"{out}: the picture must end in .png or .svg")
    image = QImage(width, height, QImage.Format_ARGB32_Premultiplied)
    image.fill(scene.theme.background)
    painter = QPainter(image)
    _paint(painter, scene, target, src)
    painter.end()
    if not image.save(out, "PNG"):
        raise OSError(f"could not write {out}")


def _paint(painter, scene, target, src) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QPainter
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setRenderHint(QPainter.TextAntialiasing)
    painter.setRenderHint(QPainter.SmoothPixmapTransform)
    painter.fillRect(target, scene.theme.background)
    scene.clearSelection()
    scene.render(painter, target, src, Qt.KeepAspectRatio)


def render(path: str, out: str, width: int | None = None, dark: bool = False) -> None:
    """Load graph file ``path`` and write the canvas picture to ``out`` (.png or .svg).

    Raises engine.GraphFileError for a bad file and OSError when ``out`` cannot be written.
    """
    _app()
    from gui.document import Document
    doc = Document()
    doc.open(path)
    render_document(doc, out, width, dark)


def render_document(doc, out: str, width: int | None = None, dark: bool = False) -> None:
    """Draw an already loaded Document (tests and the editor's own export use this)."""
    _app()
    from gui.canvas.scene import CanvasScene
    scene = CanvasScene(doc)
    scene.set_dark(dark)
    try:
        render_scene(scene, out, width)
    finally:
        scene.deleteLater()
