"""Presentation mode (View › Presentation, F5; Esc leaves) and the window's UI scale.

Presenting, the window goes full screen with nothing but the canvas: the docks, the
menus, the toolbar, the expression bar and the status bar are hidden, the canvas shows
the graph in its compact style (large text, a display-only layout; nothing is edited)
fitted to the screen, and while a pass is stepped its narration is a large caption
over the canvas. The step keys keep working. Leaving restores the window as it was.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSettings, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QLabel, QWidget

#: the UI scale's steps (View › Zoom UI) and where it is remembered
UI_SCALES = (0.8, 0.9, 1.0, 1.1, 1.25, 1.4, 1.6, 1.8, 2.0)
UI_SCALE_KEY = "uiScale"
#: the caption's text size in screen pixels
CAPTION_PX = 30


class Caption(QLabel):
    """The current step's narration in large type over the canvas's lower part."""

    def __init__(self, canvas) -> None:
        # a child of the view, not of its viewport: scrolling moves the viewport's children
        super().__init__(canvas)
        self.canvas = canvas
        self.setObjectName("presentation_caption")
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignCenter)
        f = QFont(self.font())
        f.setPixelSize(CAPTION_PX)
        self.setFont(f)
        self.setStyleSheet("QLabel#presentation_caption { color: white; "
                           "background: rgba(20, 24, 32, 215); border-radius: 10px; "
                           "padding: 10px 18px; }")
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.hide()

    def show_text(self, text: str) -> None:
        if not text:
            self.hide()
            return
        vp = self.canvas.viewport().geometry()
        width = int(vp.width() * 0.92)
        self.setFixedWidth(width)
        self.setText(text)
        self.adjustSize()
        self.move(vp.x() + (vp.width() - width) // 2, vp.bottom() - self.height() - 15)
        self.show()
        self.raise_()


class Presenter(QObject):
    """Enters and leaves presentation mode for one main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.active = False
        self._saved: dict = {}
        self.caption = Caption(window.canvas)
        window.stepper.changed.connect(self._update_caption)
        window.canvas.viewport().installEventFilter(self)

    def toggle(self) -> None:
        self.leave() if self.active else self.enter()

    def enter(self) -> None:
        if self.active:
            return
        w = self.w
        self.active = True
        self._saved = {
            "state": w.saveState(), "geometry": w.saveGeometry(),
            "maximized": w.isMaximized(), "full": w.isFullScreen(),
            "shown": [x for x in self._chrome() if x.isVisible()],
            "zoom": w.canvas.transform(),
        }
        for x in self._chrome():
            x.hide()
        w.canvas.scene().set_presentation(True)
        w.showFullScreen()
        w.canvas.setFocus()
        self._fit_later()
        self._update_caption()

    def leave(self) -> None:
        if not self.active:
            return
        w = self.w
        self.active = False
        self.caption.hide()
        w.canvas.reserve_bottom = 0
        w.canvas.scene().set_presentation(False)
        s = self._saved
        if s.get("full"):
            w.showFullScreen()
        elif s.get("maximized"):
            w.showMaximized()
        else:
            w.showNormal()
            w.restoreGeometry(s["geometry"])
        w.restoreState(s["state"])
        for x in s.get("shown", []):
            x.show()
        w.canvas.setTransform(s["zoom"])
        w.canvas.fit_all()
        w._show_narration()  # a pass stepped while presenting goes on in the Narration panel

    def _chrome(self) -> list[QWidget]:
        w = self.w
        docks = [d for d in w.docks()]
        return docks + [w.menuBar(), w.toolbar, w.samples_toolbar, w.statusBar(),
                        w.expression_bar,
                        w.canvas.minimap, w.canvas.find_bar]

    def _fit_later(self) -> None:
        from PySide6.QtCore import QTimer
        QTimer.singleShot(0, self.w.canvas, self.w.canvas.fit_all)
        QTimer.singleShot(120, self.w.canvas, self.w.canvas.fit_all)  # once resized

    def _update_caption(self) -> None:
        st = self.w.stepper
        canvas = self.w.canvas
        if not self.active or st.pass_ is None:
            self.caption.hide()
            if canvas.reserve_bottom:
                canvas.reserve_bottom = 0
                canvas.fit_all()
            return
        self.caption.show_text(st.narration())
        reserve = self.caption.height() + 24
        if abs(reserve - canvas.reserve_bottom) > 8:  # the graph moves up above it
            canvas.reserve_bottom = reserve
            canvas.fit_all()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Resize and self.active:
            self._update_caption()
        return False


# ------------------------------------------------------------------ UI scale
_base_point_size: float | None = None


def ui_scale() -> float:
    try:
        return float(QSettings().value(UI_SCALE_KEY, 1.0))
    except (TypeError, ValueError):
        return 1.0


def apply_ui_scale(scale: float) -> float:
    """Set the whole window's text size to ``scale`` times the platform's, remembered
    in the settings; returns the scale used (the nearest step)."""
    global _base_point_size
    app = QApplication.instance()
    scale = min(UI_SCALES, key=lambda s: abs(s - scale))
    if app is None:
        return scale
    if _base_point_size is None:
        _base_point_size = app.font().pointSizeF() or 10.0
    f = QFont(app.font())
    f.setPointSizeF(_base_point_size * scale)
    app.setFont(f)
    QSettings().setValue(UI_SCALE_KEY, scale)
    return scale


def step_ui_scale(direction: int) -> float:
    """One step larger (1) or smaller (−1) than now."""
    now = min(UI_SCALES, key=lambda s: abs(s - ui_scale()))
    i = max(0, min(len(UI_SCALES) - 1, UI_SCALES.index(now) + direction))
    return apply_ui_scale(UI_SCALES[i])
