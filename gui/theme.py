"""Light and dark themes for the widgets around the canvas (the canvas draws its own colours).

A QPalette does most of the work so native widgets stay native; a short style sheet
only evens out dock titles and the status bar.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("light", "dark")

_COLORS = {
    "light": dict(window="#f4f5f7", base="#ffffff", alt="#eef0f3", text="#1d232b",
                  button="#e9ebef", highlight="#2f6fde", htext="#ffffff", mid="#c3c8d0",
                  disabled="#8a929c", tip="#fffbe6", link="#1c5fc9", warn="#b3261e"),
    "dark": dict(window="#23262b", base="#1a1c20", alt="#2a2e34", text="#e3e6ea",
                 button="#30343a", highlight="#4c8dff", htext="#ffffff", mid="#454b53",
                 disabled="#7b828b", tip="#2f3238", link="#8ab4ff", warn="#ff8a80"),
}


def color(theme: str, role: str) -> QColor:
    """A named colour of a theme (e.g. ``warn`` for the status bar's output problems)."""
    return QColor(_COLORS[theme][role])


def palette(theme: str) -> QPalette:
    c = {k: QColor(v) for k, v in _COLORS[theme].items()}
    p = QPalette()
    for group in (QPalette.Active, QPalette.Inactive):
        p.setColor(group, QPalette.Window, c["window"])
        p.setColor(group, QPalette.WindowText, c["text"])
        p.setColor(group, QPalette.Base, c["base"])
        p.setColor(group, QPalette.AlternateBase, c["alt"])
        p.setColor(group, QPalette.Text, c["text"])
        p.setColor(group, QPalette.Button, c["button"])
        p.setColor(group, QPalette.ButtonText, c["text"])
        p.setColor(group, QPalette.Highlight, c["highlight"])
        p.setColor(group, QPalette.HighlightedText, c["htext"])
        p.setColor(group, QPalette.ToolTipBase, c["tip"])
        p.setColor(group, QPalette.ToolTipText, c["text"])
        p.setColor(group, QPalette.PlaceholderText, c["disabled"])
        p.setColor(group, QPalette.Link, c["link"])
        p.setColor(group, QPalette.Mid, c["mid"])
        p.setColor(group, QPalette.BrightText, c["warn"])
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, c["disabled"])
    p.setColor(QPalette.Disabled, QPalette.Base, c["window"])
    p.setColor(QPalette.Disabled, QPalette.Window, c["window"])
    p.setColor(QPalette.Disabled, QPalette.Button, c["button"])
    return p


def style_sheet(theme: str) -> str:
    c = _COLORS[theme]
    return f"""
QDockWidget::title {{ background: {c['alt']}; padding: 4px 6px; border-bottom: 1px solid {c['mid']}; }}
QStatusBar {{ border-top: 1px solid {c['mid']}; }}
QToolTip {{ color: {c['text']}; background: {c['tip']}; border: 1px solid {c['mid']}; padding: 4px; }}
QLabel#heading {{ font-weight: 600; }}
QLabel#problem {{ color: {c['warn']}; }}
QLabel#formula {{ font-family: "DejaVu Sans", "Segoe UI", sans-serif; }}
"""


def apply_theme(app: QApplication, theme: str) -> None:
    """Switch every widget to ``theme`` ("light" or "dark")."""
    if theme not in THEMES:
        theme = "light"
    if app.property("crs_theme") == theme:
        return  # a new window in the same theme: re-polishing every widget costs seconds
    app.setStyle("Fusion")
    app.setPalette(palette(theme))
    app.setStyleSheet(style_sheet(theme))
    app.setProperty("crs_theme", theme)


def current_theme(app: QApplication) -> str:
    t = app.property("crs_theme")
    return t if t in THEMES else "light"
