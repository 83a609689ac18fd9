"""The headless picture: the editor's scene drawn into a PNG / SVG of the asked size."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QImage

import engine
from gui.document import Document
from gui.render import render_document


def two_layer() -> engine.Graph:
    """Tutorial: x=2, y=1, w1=0.5, w2=0.3; h=w1·x, ŷ=w2·h, L=(y−ŷ)²."""
    g = engine.Graph()
    x = g.add_node("input", "x", 2.0, (0, 0))
    w1 = g.add_node("param", "w1", 0.5, (0, 130))
    w2 = g.add_node("param", "w2", 0.3, (0, 260))
    y = g.add_node("input", "y", 1.0, (0, 390))
    h = g.add_node("mul", "h", pos=(300, 60))
    yh = g.add_node("mul", "yhat", pos=(600, 140))
    L = g.add_node("squared_error", "L", pos=(900, 260))
    for s, d, p in ((w1, h, "a"), (x, h, "b"), (w2, yh, "a"), (h, yh, "b"),
                    (y, L, "target"), (yh, L, "prediction")):
        g.connect(s, d, p)
    g.set_output(L)
    return g


@pytest.fixture
def doc(qapp) -> Document:
    d = Document()
    d.load_graph(two_layer())
    return d


def _count_near(img: QImage, colour: QColor, tol: int = 40, stride: int = 2) -> int:
    n = 0
    for yy in range(0, img.height(), stride):
        for xx in range(0, img.width(), stride):
            c = img.pixelColor(xx, yy)
            if (abs(c.red() - colour.red()) + abs(c.green() - colour.green())
                    + abs(c.blue() - colour.blue())) <= tol:
                n += 1
    return n


def test_png_has_the_asked_width_and_shows_the_graph(doc, tmp_path):
    from gui.canvas.theme import LIGHT
    out = tmp_path / "net.png"
    render_document(doc, str(out), width=900)
    img = QImage(str(out))
    assert not img.isNull()
    assert img.width() == 900
    # the tutorial graph is wider than tall (4 columns, 5 rows of 130 px at most)
    assert 200 < img.height() < 900
    colours = {img.pixelColor(x, y).rgb() for x in range(0, 900, 7) for y in range(0, img.height(), 7)}
    assert len(colours) > 20                        # not a blank picture
    # gradient colours on the edges: ∂L/∂y > 0 (blue), every other product < 0 (red)
    assert _count_near(img, LIGHT.negative) > 50
    assert _count_near(img, LIGHT.positive) > 20


def test_default_width_is_1600(doc, tmp_path):
    out = tmp_path / "net.png"
    render_document(doc, str(out))
    assert QImage(str(out)).width() == 1600


def test_svg_carries_the_numbers_as_text(doc, tmp_path):
    out = tmp_path / "net.svg"
    render_document(doc, str(out), width=1000)
    text = out.read_text(encoding="utf-8")
    assert "<svg" in text and 'width="' in text
    # L = 0.49 and ∂L/∂w₁ = −0.84 on the w₁ edge, as written by the canvas
    assert "0.49" in text
    assert "\u22120.84" in text


def test_dark_png_has_a_dark_background(doc, tmp_path):
    from gui.canvas.theme import DARK
    out = tmp_path / "dark.png"
    render_document(doc, str(out), width=600, dark=True)
    img = QImage(str(out))
    corner = img.pixelColor(2, 2)
    assert corner.rgb() == DARK.background.rgb()


def test_unknown_extension_is_refused(doc, tmp_path):
    with pytest.raises(ValueError):
        render_document(doc, str(tmp_path / "net.bmp"))


def test_render_reads_a_graph_file(qapp, tmp_path):
    from engine import fileformat
    from gui.render import render
    src = tmp_path / "net.json"
    fileformat.save(two_layer(), str(src))
    out = tmp_path / "net.png"
    render(str(src), str(out), 700)
    img = QImage(str(out))
    assert img.width() == 700 and img.height() > 100


def test_render_of_a_bad_file_raises_the_loaders_error(qapp, tmp_path):
    from gui.render import render
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json", encoding="utf-8")
    with pytest.raises(engine.GraphFileError):
        render(str(bad), str(tmp_path / "x.png"))
    assert not (tmp_path / "x.png").exists()
