"""File › Export as: the graph as PyTorch code, NumPy code or LaTeX, the canvas as PDF.

Exporting is not an edit: it reads the document and writes a file, and leaves the undo
stack and the modified flag alone. The folder last exported to is remembered.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMenu

from gui import progress

#: format → (menu text, dialog title, file name suffix, dialog filter)
FORMATS = {
    "torch": ("&PyTorch Code…", "Export as PyTorch code", "_torch.py",
              "Python scripts (*.py);;All files (*)"),
    "numpy": ("&NumPy Code…", "Export as NumPy code", "_numpy.py",
              "Python scripts (*.py);;All files (*)"),
    "latex": ("&LaTeX…", "Export as LaTeX", ".tex", "LaTeX documents (*.tex);;All files (*)"),
    "pdf": ("P&DF…", "Export the canvas as PDF", ".pdf", "PDF documents (*.pdf);;All files (*)"),
}
FOLDER_KEY = "exportFolder"


def build_export_menu(window, file_menu: QMenu, before) -> QMenu:
    """Insert File › Export as before the action ``before``; one action per format,
    kept on ``window.export_actions``."""
    menu = QMenu("E&xport As", file_menu)
    window.export_actions = {}
    for kind, (text, *_rest) in FORMATS.items():
        a = menu.addAction(text)
        a.triggered.connect(lambda _c=False, k=kind: export_dialog(window, k))
        window.export_actions[kind] = a
    file_menu.insertMenu(before, menu)
    return menu


def _stem(window) -> str:
    doc = window.doc
    if doc.path:
        return Path(doc.path).stem
    return window.untitled_name.split(" ")[0] or "graph"


def export_dialog(window, kind: str) -> bool:
    """Ask where, then write the export; a failure is said in words, never raised."""
    _text, title, suffix, filters = FORMATS[kind]
    folder = window.settings.value(FOLDER_KEY, "") or (
        os.path.dirname(window.doc.path) if window.doc.path else str(Path.home()))
    start = str(Path(str(folder)) / (_stem(window) + suffix))
    path, _ = QFileDialog.getSaveFileName(window, title, start, filters)
    if not path:
        return False
    if not Path(path).suffix:
        path += Path(suffix).suffix
    try:
        with progress.scope(window, f"Exporting {Path(path).name}…"):
            write_export(window, kind, path)
    except Exception as e:  # noqa: BLE001 - an export must never take the document down
        window.show_error("Could not export", f"{path} was not written: {e}")
        return False
    window.settings.setValue(FOLDER_KEY, os.path.dirname(os.path.abspath(path)))
    window.show_message(f"Exported {path}")
    return True


def write_export(window, kind: str, path: str) -> None:
    """Write the document as ``kind`` to ``path`` (atomically)."""
    from engine.files import write_atomic
    doc = window.doc
    if kind == "pdf":
        import tempfile

        from gui.render import render_document
        with tempfile.TemporaryDirectory(prefix="chain-rule-studio-") as folder:
            drawn = os.path.join(folder, "canvas.pdf")
            render_document(doc, drawn, dark=window.theme == "dark",
                            label_mode=getattr(window, "label_mode", None))
            write_atomic(path, Path(drawn).read_bytes())
        return
    from engine.export import export_text
    write_atomic(path, export_text(doc.graph, kind, _stem(window)).encode("utf-8"))
