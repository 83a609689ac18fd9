"""Headless pictures of a graph: the editor's own scene drawn into a PNG, an SVG or a
vector PDF.

``python main.py render FILE -o OUT.png`` uses this, so the README and slides show
exactly what the editor shows (same Document, same CanvasScene, same items).
"""

from __future__ import annotations

import os

MARGIN = 24.0
#: the largest PDF page side, in points (PDF viewers refuse pages beyond 200 inches)
MAX_PDF_POINTS = 14400.0


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
    """Write ``scene`` fitted into a picture ``width`` pixels wide (PNG), an SVG, or a
    PDF page ``width`` points wide (default: the scene at 96 pixels per inch)."""
    from PySide6.QtCore import QRectF, QSize
    from PySide6.QtGui import QImage, QPainter

    word = getattr(scene, "word_labels", None)
    if word is not None:  # a picture shows every label: word the ones left stale
        word()
    src = scene.items_rect()
    if src.isEmpty():
        src = QRectF(0, 0, 400, 200)
    src = src.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
    lower = out.lower()
    if lower.endswith(".pdf"):
        _render_pdf(scene, out, src, width)
        return
    width = int(width or 1600)
    if width <= 0:
        raise ValueError("width must be a positive number of pixels")
    height = max(1, round(width * src.height() / src.width()))
    target = QRectF(0, 0, width, height)
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
        raise ValueError(f"{out}: the picture must end in .png, .svg or .pdf")
    image = QImage(width, height, QImage.Format_ARGB32_Premultiplied)
    image.fill(scene.theme.background)
    painter = QPainter(image)
    _paint(painter, scene, target, src)
    painter.end()
    if not image.save(out, "PNG"):
        raise OSError(f"could not write {out}")


def _render_pdf(scene, out: str, src, width: float | None) -> None:
    """One PDF page holding the scene as vectors: paths and text, not a bitmap, so it
    prints sharp at any size and its numbers can be searched and copied."""
    from PySide6.QtCore import QMarginsF, QRectF, QSizeF
    from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter
    w = float(width) if width else src.width() * 0.75  # 96 px per inch = 72 pt per inch
    if w <= 0:
        raise ValueError("width must be a positive number of points")
    h = w * src.height() / src.width()
    shrink = min(1.0, MAX_PDF_POINTS / max(w, h))
    w, h = max(1.0, w * shrink), max(1.0, h * shrink)
    pdf = QPdfWriter(out)
    pdf.setTitle("Chain Rule Studio")
    pdf.setCreator("Chain Rule Studio")
    pdf.setResolution(72)
    pdf.setPageLayout(QPageLayout(QPageSize(QSizeF(w, h), QPageSize.Point, "",
                                            QPageSize.ExactMatch),
                                  QPageLayout.Portrait, QMarginsF(0, 0, 0, 0)))
    painter = QPainter()
    if not painter.begin(pdf):
        raise OSError(f"could not write {out}")
    _paint(painter, scene, QRectF(0, 0, pdf.width(), pdf.height()), src)
    if not painter.end():
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
    """Load graph file ``path`` and write the canvas picture to ``out`` (.png, .svg or
    .pdf).

    Raises engine.GraphFileError for a bad file and OSError when ``out`` cannot be written.
    """
    _app()
    from gui.document import Document
    doc = Document()
    doc.open(path)
    render_document(doc, out, width, dark)


def render_document(doc, out: str, width: int | None = None, dark: bool = False,
                    label_mode: str | None = None) -> None:
    """Draw an already loaded Document (tests and the editor's own export use this),
    with the editor's edge labels when ``label_mode`` is given."""
    _app()
    from gui.canvas.scene import CanvasScene
    scene = CanvasScene(doc)
    scene.set_dark(dark)
    if label_mode is not None:
        scene.set_label_mode(label_mode)
    try:
        render_scene(scene, out, width)
    finally:
        scene.deleteLater()
