"""pyqtgraph plots in the window's colours (its default is white on black)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor


def follow_theme(plot: pg.PlotWidget, bg: QColor, fg: QColor) -> None:
    """Background, title and both axes of ``plot`` in the given colours."""
    plot.setBackground(bg)
    item = plot.getPlotItem()
    item.titleLabel.setAttr("color", fg.name())
    item.titleLabel.setText(item.titleLabel.text)
    for axis in ("left", "bottom"):
        ax = item.getAxis(axis)
        ax.setPen(pg.mkPen(fg))
        ax.setTextPen(pg.mkPen(fg))
        ax.label.setDefaultTextColor(fg)
