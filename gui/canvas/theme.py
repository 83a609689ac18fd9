"""Colours and fonts of the canvas, light and dark, in one place.

Items read the scene's current Theme when they paint, so switching theme is a
repaint, never a rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtGui import QColor, QFont


@dataclass(frozen=True)
class Theme:
    dark: bool
    background: QColor
    grid_minor: QColor
    grid_major: QColor
    card: QColor
    card_border: QColor
    shadow: QColor
    text: QColor
    text_muted: QColor
    selection: QColor
    output: QColor
    #: the step-through's current node/edges and the derivation panel's hovered factor
    highlight: QColor
    #: leaf kinds: fill and accent
    leaf_fill: dict
    leaf_accent: dict
    #: op groups: header accent
    group_accent: dict
    positive: QColor
    negative: QColor
    zero: QColor
    off_path: QColor
    fault: QColor
    port: QColor
    port_valid: QColor
    label_bg: QColor
    #: forward mode's tangents (ẋ) and edge shares: apart from the gradients' blue/red
    tangent: QColor = field(default_factory=lambda: QColor("#0b7f74"))


def _c(hex_: str, alpha: int = 255) -> QColor:
    c = QColor(hex_)
    c.setAlpha(alpha)
    return c


LIGHT = Theme(
    dark=False,
    background=_c("#f6f7f9"),
    grid_minor=_c("#e9ecf1"),
    grid_major=_c("#dde1e8"),
    card=_c("#ffffff"),
    card_border=_c("#cfd5de"),
    shadow=_c("#1c2433", 22),
    text=_c("#1d2330"),
    text_muted=_c("#6b7383"),
    selection=_c("#2f6fdb"),
    output=_c("#1d2330"),
    highlight=_c("#f5a623"),
    leaf_fill={"input": _c("#fff6e0"), "param": _c("#e6f6ea"), "const": _c("#eef0f4"),
               "data": _c("#e2f2f7")},
    leaf_accent={"input": _c("#c98a00"), "param": _c("#2e9949"), "const": _c("#7b8494"),
                 "data": _c("#1b86a6")},
    group_accent={"arithmetic": _c("#4a6fd1"), "function": _c("#8a4fd0"),
                  "loss": _c("#d0483f")},
    positive=_c("#2f6fdb"),
    negative=_c("#d64545"),
    zero=_c("#8a93a3"),
    off_path=_c("#b8bec9"),
    fault=_c("#e08a00"),
    port=_c("#7b8494"),
    port_valid=_c("#22a35a"),
    label_bg=_c("#ffffff", 236),
    tangent=_c("#0b7f74"),
)

DARK = Theme(
    dark=True,
    background=_c("#1b1e24"),
    grid_minor=_c("#23272f"),
    grid_major=_c("#2b3039"),
    card=_c("#2a2f38"),
    card_border=_c("#444b57"),
    shadow=_c("#000000", 60),
    text=_c("#e8ebf0"),
    text_muted=_c("#9aa3b2"),
    selection=_c("#5b95f5"),
    output=_c("#e8ebf0"),
    highlight=_c("#ffb627"),
    leaf_fill={"input": _c("#3b3424"), "param": _c("#233a2a"), "const": _c("#30343c"),
               "data": _c("#1f3540")},
    leaf_accent={"input": _c("#e0a82e"), "param": _c("#4cc46c"), "const": _c("#9aa3b2"),
                 "data": _c("#4bb6d6")},
    group_accent={"arithmetic": _c("#6d8ff0"), "function": _c("#a77de8"),
                  "loss": _c("#ef6b62")},
    positive=_c("#5b95f5"),
    negative=_c("#f06464"),
    zero=_c("#8a93a3"),
    off_path=_c("#5a616d"),
    fault=_c("#f0a020"),
    port=_c("#9aa3b2"),
    port_valid=_c("#3ccf78"),
    label_bg=_c("#22262d", 236),
    tangent=_c("#3fd0bf"),
)


def font(pixels: int, bold: bool = False) -> QFont:
    """The canvas font: the platform's sans serif at a size in scene pixels, so text
    measures the same on screen, in a PNG and in an SVG (points would depend on DPI)."""
    f = _FONTS.get((pixels, bold))
    if f is None:
        f = _FONTS[(pixels, bold)] = QFont()
        f.setStyleHint(QFont.SansSerif)
        f.setPixelSize(pixels)
        f.setBold(bold)
    return QFont(f)  # a copy (cheap, shared data): every item builds five of them


_FONTS: dict[tuple[int, bool], QFont] = {}
