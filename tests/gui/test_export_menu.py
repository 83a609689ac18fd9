"""File › Export As: a learner exports the open graph; the file is written, runs, and
the document is untouched (exporting is not an edit). The canvas PDF is vector."""

from __future__ import annotations

import re
import subprocess
import sys
import zlib
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from gui.render import render_document


def _menu_action(window, *path: str):
    """The action at File › … › item, found by its shown text as a user reads it."""
    actions = window.menuBar().actions()
    action = None
    for text in path:
        action = next(a for a in actions if a.text().replace("&", "") == text)
        if action.menu() is not None:
            actions = action.menu().actions()
    return action


def _ask(monkeypatch, answer: str) -> list[tuple]:
    asked: list[tuple] = []

    def get_save_file_name(parent, title, start, filters, *a, **k):
        asked.append((title, start, filters))
        return answer, ""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(get_save_file_name))
    return asked


def test_export_numpy_code_from_the_file_menu(two_layer_window, monkeypatch, tmp_path):
    w = two_layer_window
    stack = w.doc.undo_stack
    index, clean = stack.index(), stack.isClean()
    out = tmp_path / "mine"
    asked = _ask(monkeypatch, str(out))
    _menu_action(w, "File", "Export As", "NumPy Code…").trigger()
    title, start, filters = asked[0]
    assert Path(start).name == "two_layer_numpy.py" and "*.py" in filters
    written = tmp_path / "mine.py"  # the suffix is added
    assert written.exists()
    done = subprocess.run([sys.executable, str(written)], capture_output=True, text=True,
                          encoding="utf-8", env={"PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0, done.stderr
    assert "dL/dw1 = -0.84" in done.stdout.splitlines()
    # not an edit: the undo stack and the modified flag are as they were
    assert stack.index() == index and stack.isClean() == clean and stack.count() == index
    assert not w.isWindowModified()
    # the next export starts in the folder exported to
    asked2 = _ask(monkeypatch, "")
    _menu_action(w, "File", "Export As", "LaTeX…").trigger()
    assert Path(asked2[0][1]).parent == tmp_path and asked2[0][1].endswith(".tex")


def test_export_pytorch_and_latex_write_files(two_layer_window, monkeypatch, tmp_path):
    w = two_layer_window
    _ask(monkeypatch, str(tmp_path / "net_torch.py"))
    _menu_action(w, "File", "Export As", "PyTorch Code…").trigger()
    text = (tmp_path / "net_torch.py").read_text(encoding="utf-8")
    assert "requires_grad=True" in text and "L.backward()" in text
    _ask(monkeypatch, str(tmp_path / "net.tex"))
    _menu_action(w, "File", "Export As", "LaTeX…").trigger()
    assert r"\frac{\partial L}{\partial w_1}" in (tmp_path / "net.tex").read_text()


def test_an_export_that_fails_says_why(two_layer_window, monkeypatch, tmp_path, dialogs):
    w = two_layer_window
    folder = tmp_path / "a folder.py"
    folder.mkdir()
    _ask(monkeypatch, str(folder))
    _menu_action(w, "File", "Export As", "NumPy Code…").trigger()
    assert dialogs.errors and "was not written" in dialogs.errors[-1]


def _pdf_streams(raw: bytes) -> list[bytes]:
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", raw, re.S):
        try:
            out.append(zlib.decompress(m.group(1)))
        except zlib.error:
            out.append(m.group(1))
    return out


def test_pdf_of_the_canvas_is_vector(two_layer_window, monkeypatch, tmp_path):
    w = two_layer_window
    _ask(monkeypatch, str(tmp_path / "canvas.pdf"))
    _menu_action(w, "File", "Export As", "PDF…").trigger()
    raw = (tmp_path / "canvas.pdf").read_bytes()
    assert raw.startswith(b"%PDF-") and raw.rstrip().endswith(b"%%EOF")
    pages = _pdf_streams(raw)
    text_ops = sum(len(re.findall(rb"\bT[jJ]\b", s)) for s in pages)
    path_ops = sum(len(re.findall(rb"\s[lc]\n", s)) for s in pages)
    assert text_ops > 50 and path_ops > 50  # labels as text, edges and boxes as paths
    assert b"/Subtype /Image" not in raw  # no bitmap anywhere
    assert len(raw) > 5000


def test_pdf_page_has_the_scene_shape(qapp, tmp_path):
    from engine import fileformat
    from gui.document import Document
    doc = Document()
    doc.load_graph(fileformat.load(str(Path(__file__).resolve().parents[2] / "assets"
                                       / "examples" / "two_layer.json")))
    out = tmp_path / "net.pdf"
    render_document(doc, str(out), width=500)
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", out.read_bytes())
    assert box is not None
    wide, high = float(box.group(1)), float(box.group(2))
    assert abs(wide - 500) < 1 and 20 < high < wide  # wider than tall, as the canvas
