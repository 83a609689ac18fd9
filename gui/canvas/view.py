"""The canvas view: zoom, pan, fit, keys, drops, and the dispatch of mouse gestures.

Gestures themselves live in interactions.py; this class only decides which one
a press starts and forwards the moves and the release to it.
"""

from __future__ import annotations

import math

import numpy as np

from PySide6.QtCore import QEvent, QLineF, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QPen
from PySide6.QtWidgets import (QFrame, QGraphicsView, QMenu, QRubberBand, QStyle,
                               QStyleHintReturnMask, QStyleOptionGraphicsItem,
                               QStyleOptionRubberBand)

from engine.ops import OPS
from gui.canvas.edge_item import LABEL_MIN_LOD, LINE_MIN_LOD, EdgeItem
from gui.canvas.minimap import FindBar, Minimap
from gui.canvas.interactions import (ConnectGesture, Gesture, MoveGesture, PanGesture,
                                     RerouteGesture, node_at, port_at)
from gui.canvas.node_item import BOX_MIN_LOD, HEADER
from gui.canvas.port_item import Port
from gui.canvas.quiz_field import QuizField
from gui.canvas.rename_editor import RenameEditor
from gui.canvas.scene import CanvasScene

from gui.mime import COLUMN_MIME, OP_MIME

MIN_ZOOM = 0.1
MAX_ZOOM = 4.0
ZOOM_STEP = 1.2
#: fitting never zooms in further than this, so a tiny graph is not drawn huge
FIT_MAX_ZOOM = 1.25
GRID = 20.0
WORLD = 1.0e5
#: below this zoom every item draws only a flat box or a hairline (and no port or label),
#: so the view draws the scene's batched overview instead of asking each item
OVERVIEW_MAX_ZOOM = min(BOX_MIN_LOD, LINE_MIN_LOD, LABEL_MIN_LOD)
#: after a wheel or key zoom step far out, the last frame is shown scaled; this long
#: (ms) after the last step the view is drawn crisp again (see _settle_zoom)
ZOOM_SETTLE_MS = 90
#: a scaled frame is shown for at most this zoom ratio to the one it comes from
MAX_PREVIEW_SCALE = 4.0
#: margins a zoom-out step uncovers get the grid only when it is at least this coarse
PREVIEW_GRID_PX = 4.0


class CanvasView(QGraphicsView):
    """Where the learner builds the function; all edits go to ``document``."""

    selectionChangedIds = Signal(list)
    statusMessage = Signal(str)

    def __init__(self, document, scene: CanvasScene | None = None, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        #: callables (menu, node id) adding entries to a node's context menu
        self.node_menu_extras: list = []
        self.setScene(scene if scene is not None else CanvasScene(document, self))
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing
                            | QPainter.SmoothPixmapTransform)
        self.setViewportUpdateMode(QGraphicsView.BoundingRectViewportUpdate)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.NoFrame)
        self.setSceneRect(QRectF(-WORLD, -WORLD, 2 * WORLD, 2 * WORLD))
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMouseTracking(True)
        self._gesture: Gesture | None = None
        self._space = False
        self._quick = None
        self._quick_callback = None
        self._editor: RenameEditor | None = None
        #: after a fit, resizes (the window maximised, a dock closed) fit again until the
        #: user zooms or pans: a start-up fit made in a small window must not leave the graph tiny
        self._keep_fitted = False
        #: draw far-zoom frames from the scene's overview (False: always ask the items)
        self.overview_enabled = True
        #: pixels at the viewport's bottom that fitting keeps free (a caption lies there)
        self.reserve_bottom = 0
        self._base: QImage | None = None
        self._base_key: tuple | None = None
        self._base_lines: list | None = None
        #: the hairlines as arrays, for redrawing a strip after a pan (see _shifted_base)
        self._line_index: tuple | None = None
        #: is _base drawn at its own transform (False: a zoom step's scaled frame)?
        self._base_exact = True
        #: (area, minor lines, major lines) of the last grid drawn (see drawBackground)
        self._grid_lines: tuple | None = None
        #: (image, key) of the last base drawn at its own transform: what zoom steps scale
        self._exact_base: tuple | None = None
        #: a wheel or key zoom step was made and the view has not settled since
        self._zoom_preview = False
        self._settle_timer = QTimer(self)
        self._settle_timer.setSingleShot(True)
        self._settle_timer.setInterval(ZOOM_SETTLE_MS)
        self._settle_timer.timeout.connect(self._settle_zoom)
        self.scene().selectionChanged.connect(self._selection_changed)
        self.minimap = Minimap(self)
        self.find_bar = FindBar(self)

    # ----------------------------------------------------------------- public API
    def selected_ids(self) -> list[str]:
        return self.scene().selected_ids()

    def select_ids(self, ids) -> None:
        self.scene().select_ids(ids)

    def set_label_mode(self, mode: str) -> None:
        self.scene().set_label_mode(mode)

    def centre_on(self, point: QPointF) -> None:
        """Bring a scene point to the middle of the view (Find, the minimap)."""
        self._keep_fitted = False
        self._cover(QRectF(point, point))
        self.centerOn(point)

    def _cover(self, rect: QRectF) -> None:
        """Grow the scrollable world so it holds the graph and ``rect`` (the view cannot
        scroll past its scene rect; a graph wider than the default world would be cut)."""
        want = self.scene().extent().united(rect)
        world = self.sceneRect()
        if not world.contains(want):
            m = max(WORLD, want.width(), want.height())
            self.setSceneRect(world.united(want.adjusted(-m, -m, m, m)))

    def set_minimap(self, on: bool) -> None:
        """Show or hide the minimap in the view's corner."""
        self.minimap.setVisible(on)
        if on:
            self.minimap.place()
            self.minimap.raise_()
            self.minimap.update()

    def open_find(self) -> None:
        """Ctrl+F: the Find bar over the canvas."""
        self.find_bar.open()

    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, z: float) -> None:
        """Zoom to ``z`` (1 = one scene unit per pixel) about the view's centre."""
        self._zoom_centre(z / self.zoom())

    def min_zoom(self) -> float:
        """How far out the wheel may zoom: MIN_ZOOM, or further when the whole graph
        does not fit at MIN_ZOOM (a 10,000-node graph can always be seen whole)."""
        ext = self.scene().extent()
        vp = self.viewport().rect()
        if ext.isEmpty() or vp.isEmpty():
            return MIN_ZOOM
        fit = 0.9 * min(vp.width() / ext.width(), vp.height() / ext.height())
        return max(1e-4, min(MIN_ZOOM, fit))

    def zoom_by(self, factor: float) -> None:
        self._keep_fitted = False
        z = self.zoom()
        factor = max(self.min_zoom() / z, min(MAX_ZOOM / z, factor))
        self._cover(QRectF())
        self.scale(factor, factor)

    def zoom_in(self) -> None:
        self._zoom_step()
        self._zoom_centre(ZOOM_STEP)

    def zoom_out(self) -> None:
        self._zoom_step()
        self._zoom_centre(1.0 / ZOOM_STEP)

    def _zoom_step(self) -> None:
        """A user's zoom step (wheel, keys, menu): far out, frames until the steps stop
        scale the last picture instead of drawing every hairline again."""
        self._zoom_preview = True
        self._settle_timer.start()

    def zoom_settled(self) -> bool:
        """Is the view drawn crisp at its zoom (no zoom step is waiting to settle)?"""
        return not self._zoom_preview

    def settle_zoom(self) -> None:
        """Draw crisp now rather than when the settle timer fires."""
        self._settle_timer.stop()
        self._settle_zoom()

    def _settle_zoom(self) -> None:
        self._zoom_preview = False
        if self._base is not None and not self._base_exact:
            self._base = None  # the next frame draws every hairline at the new zoom
            self.viewport().update()

    def _zoom_centre(self, factor: float) -> None:
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.AnchorViewCenter)
        self.zoom_by(factor)
        self.setTransformationAnchor(anchor)

    def fit_all(self) -> None:
        """Show every node, edge and label (key F); stays fitted through resizes."""
        self._fit(self.scene().items_rect())
        self._keep_fitted = True

    def ensure_all_visible(self) -> None:
        """Fit everything when part of the graph is out of sight (after an auto-layout)."""
        rect = self.scene().items_rect()
        shown = self.mapToScene(self.viewport().rect()).boundingRect()
        if not rect.isEmpty() and not shown.contains(rect):
            self.fit_all()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.minimap.place()
        if self._keep_fitted:
            self._fit(self.scene().items_rect())

    def fit_selection(self) -> None:
        """Show the selected nodes; everything when nothing is selected."""
        self.fit_nodes(self.selected_ids())

    def fit_nodes(self, ids) -> None:
        """Show these nodes (an inserted network); everything when there are none."""
        nodes = self.scene().nodes
        items = [nodes[i] for i in ids if i in nodes]
        if not items:
            self.fit_all()
            return
        r = QRectF()
        for it in items:
            r = r.united(it.sceneBoundingRect())
        self._fit(r)

    def _fit(self, rect: QRectF) -> None:
        self._keep_fitted = False
        if rect.isEmpty():
            self.resetTransform()
            self.centerOn(0, 0)
            return
        rect = rect.adjusted(-30, -30, 30, 30)
        self._cover(rect)
        vp = self.viewport().rect().adjusted(0, 0, 0, -self.reserve_bottom)
        z = min(vp.width() / rect.width(), vp.height() / rect.height())
        # whole, however large the graph; a presentation fills the screen
        z = max(1e-4, min(MAX_ZOOM if self.scene().presenting else FIT_MAX_ZOOM, z))
        self.resetTransform()
        self.scale(z, z)
        self.centerOn(rect.center() + QPointF(0, self.reserve_bottom / 2 / z))

    # ----------------------------------------------------------------- painting
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        scene = self.scene()
        if scene.building:  # a half-built scene is not asked for its items (see rebuild)
            p = QPainter(self.viewport())
            p.fillRect(self.viewport().rect(), scene.theme.background)  # the dialog says why
            p.end()
            return
        if self.draws_overview():
            self._paint_overview(event)
            return
        # (a viewport-sized image) until zoomed out again
        self._base = self._base_lines = self._line_index = self._exact_base = None
        # labels a value change left stale get their text just before they are seen
        scene.word_visible_labels(self)
        super().paintEvent(event)

    def draws_overview(self) -> bool:
        """Does a frame now come from the scene's batched overview? When zoomed out so far
        that every item would draw only a flat box or a hairline, unless a gesture's or
        the rename editor's item is in the scene (those paint themselves)."""
        return self.overview_enabled and not self.scene().has_extra_items() and \
            QStyleOptionGraphicsItem.levelOfDetailFromTransform(
                self.viewportTransform()) < OVERVIEW_MAX_ZOOM

    def _paint_overview(self, event) -> None:
        """A far-zoom frame as QGraphicsView.paintEvent would paint it, but with the
        nodes and edges drawn from the scene's batched overview: at this zoom each item
        paints only a flat box or a hairline, and on a large graph the ~6 Python calls
        per node (paint and boundingRect of node, ports, edges, labels) were the frame.

        Long hairlines cost Qt's rasteriser more than anything else here (tens of ms for
        10,000 nodes), so the grid and the hairlines are kept as one image until the
        view moves or an edge changes; a frame for a hover, a selection or a rubber band
        copies the exposed part of it and fills the node boxes on top."""
        scene = self.scene()
        base = self._overview_base(scene.overview_lines())
        boxes = scene.overview_boxes()
        p = QPainter(self.viewport())
        exposed = event.region().boundingRect()
        dpr = base.devicePixelRatio()  # the source rectangle is in the image's own pixels
        p.drawImage(QRectF(exposed), base, QRectF(exposed.x() * dpr, exposed.y() * dpr,
                                                  exposed.width() * dpr, exposed.height() * dpr))
        p.setRenderHints(self.renderHints())  # nodes fill antialiased, as NodeItem.paint
        p.setWorldTransform(self.viewportTransform())
        p.setPen(Qt.NoPen)
        for colour, opacity, group in boxes:
            p.setOpacity(opacity)
            p.setBrush(colour)
            p.drawRects(group)  # Qt's raster engine skips what the exposed region clips
        p.setOpacity(1.0)
        p.save()
        self.drawForeground(p, self.mapToScene(exposed).boundingRect())
        p.restore()
        band = self.rubberBandRect()
        if not band.isEmpty():  # as QGraphicsView.paintEvent draws it
            p.resetTransform()
            opt = QStyleOptionRubberBand()
            opt.initFrom(self.viewport())
            opt.rect = band
            opt.shape = QRubberBand.Rectangle
            style = self.viewport().style()
            mask = QStyleHintReturnMask()
            if style.styleHint(QStyle.SH_RubberBand_Mask, opt, self.viewport(), mask):
                p.setClipRegion(mask.region, Qt.IntersectClip)
            style.drawControl(QStyle.CE_RubberBand, opt, p, self.viewport())
        p.end()

    def _overview_base(self, lines) -> QImage:
        """The grid and the edges' hairlines for the whole viewport, redrawn only when
        the view's transform or size, the theme or the hairlines changed."""
        vp = self.viewport()
        dpr = vp.devicePixelRatioF()
        t = self.viewportTransform()
        key = (id(self.scene().theme), vp.width(), vp.height(), dpr,
               t.m11(), t.m12(), t.m21(), t.m22(), t.dx(), t.dy())
        # the scene makes a new list whenever a hairline changes (an identity test: an id
        # could be reused once the old list is gone)
        old = self._base_key
        if old is not None and self._base_lines is lines and self._base is not None \
                and old[:4] == key[:4]:
            if old == key:
                return self._base
            if old[4:8] == key[4:8]:
                # a pan: the same picture moved by whole pixels is the old image shifted,
                # with only the strips it uncovers drawn
                sx, sy = (key[8] - old[8]) * dpr, (key[9] - old[9]) * dpr
                if abs(sx - round(sx)) < 1e-6 and abs(sy - round(sy)) < 1e-6 \
                        and abs(sx) < self._base.width() / 2 \
                        and abs(sy) < self._base.height() / 2:
                    img = self._shifted_base(round(sx), round(sy), lines)
                    self._base, self._base_key = img, key
                    if self._base_exact:
                        self._exact_base = (img, key)
                    return img
            elif self._zoom_preview:
                # a wheel or key zoom step: the last crisp picture scaled (the last frame
                # when there is none), crisp again once the steps stop (see _settle_zoom)
                src = self._exact_base
                if src is None or src[1][:4] != key[:4] or not self._scalable(src[1], key):
                    src = (self._base, old)
                if self._scalable(src[1], key):
                    img = self._scaled_base(src[0], src[1], key, lines)
                    self._base, self._base_key, self._base_exact = img, key, False
                    return img
        img = QImage(round(vp.width() * dpr), round(vp.height() * dpr),
                     QImage.Format_ARGB32_Premultiplied)
        img.setDevicePixelRatio(dpr)
        p = QPainter(img)
        p.setRenderHints(self.renderHints())
        p.setWorldTransform(t)
        p.save()
        self.drawBackground(p, self.mapToScene(vp.rect()).boundingRect())
        p.restore()
        # unantialiased cosmetic hairlines, as EdgeItem.paint draws them far out
        p.setRenderHint(QPainter.Antialiasing, False)
        pens: dict[int, QPen] = {}
        for colour, run in lines:
            pen = pens.get(colour.rgba())
            if pen is None:
                pen = pens[colour.rgba()] = QPen(colour, 0)
            p.setPen(pen)
            p.drawLines(run)
        p.end()
        self._base, self._base_key, self._base_lines = img, key, lines
        self._base_exact, self._exact_base = True, (img, key)
        return img

    @staticmethod
    def _scalable(src: tuple, key: tuple) -> bool:
        """Can a frame at transform ``key`` be the base drawn at ``src``, scaled? (The
        view only scales and translates; a ratio beyond MAX_PREVIEW_SCALE would blur.)"""
        return src[5] == src[6] == key[5] == key[6] == 0 and src[4] == src[7] \
            and key[4] == key[7] and 1 / MAX_PREVIEW_SCALE <= key[4] / src[4] <= MAX_PREVIEW_SCALE

    def _shifted_base(self, sx: int, sy: int, lines) -> QImage:
        """The base image after a pan of (sx, sy) device pixels: the old one copied
        over, then the grid and the hairlines drawn again in the uncovered strips only
        (the hairlines that cross them are picked from arrays, so a frame after a short
        pan does not rasterise every edge of a large graph again)."""
        old = self._base
        dpr = old.devicePixelRatio()
        w, h = old.width(), old.height()
        img = QImage(w, h, QImage.Format_ARGB32_Premultiplied)
        img.setDevicePixelRatio(dpr)
        p = QPainter(img)
        p.setCompositionMode(QPainter.CompositionMode_Source)
        p.drawImage(QPointF(sx / dpr, sy / dpr), old)
        p.setCompositionMode(QPainter.CompositionMode_SourceOver)
        strips = []  # uncovered rectangles, logical pixels
        lw, lh = w / dpr, h / dpr
        if sx > 0:
            strips.append(QRectF(0, 0, sx / dpr, lh))
        elif sx < 0:
            strips.append(QRectF(lw + sx / dpr, 0, -sx / dpr, lh))
        if sy > 0:
            strips.append(QRectF(0, 0, lw, sy / dpr))
        elif sy < 0:
            strips.append(QRectF(0, lh + sy / dpr, lw, -sy / dpr))
        self._draw_strips(p, strips, lines)
        p.end()
        return img

    def _scaled_base(self, src: QImage, old: tuple, key: tuple, lines) -> QImage:
        """The base image after a zoom step, for the frames until the steps stop: the
        old one scaled so that every scene point lands where the new transform puts it
        (hairlines and grid lines are a little thicker or thinner meanwhile; node boxes
        are drawn crisp on top), and the margins a zoom out uncovers drawn afresh."""
        dpr = src.devicePixelRatio()
        w, h = src.width(), src.height()
        lw, lh = w / dpr, h / dpr
        f = key[4] / old[4]  # new logical = f · old logical + (dx, dy)
        dx, dy = key[8] - f * old[8], key[9] - f * old[9]
        target = QRectF(dx, dy, lw * f, lh * f)
        img = QImage(w, h, QImage.Format_ARGB32_Premultiplied)
        img.setDevicePixelRatio(dpr)
        p = QPainter(img)
        p.setCompositionMode(QPainter.CompositionMode_Source)
        p.setRenderHint(QPainter.SmoothPixmapTransform)
        p.drawImage(target, src)
        p.setCompositionMode(QPainter.CompositionMode_SourceOver)
        # uncovered margins, a pixel wider so no seam of the blend shows at their edge
        left, top = math.floor(target.left()) + 1, math.floor(target.top()) + 1
        right, bottom = math.ceil(target.right()) - 1, math.ceil(target.bottom()) - 1
        strips = []  # top and bottom across, left and right between them
        top_, bottom_ = max(0, top), min(lh, bottom)
        if top > 0:
            strips.append(QRectF(0, 0, lw, top))
        if bottom < lh:
            strips.append(QRectF(0, bottom, lw, lh - bottom))
        if left > 0 and bottom_ > top_:
            strips.append(QRectF(0, top_, left, bottom_ - top_))
        if right < lw and bottom_ > top_:
            strips.append(QRectF(right, top_, lw - right, bottom_ - top_))
        self._draw_strips(p, strips, lines, tint=self._tint(src))
        p.end()
        return img

    @staticmethod
    def _tint(img: QImage) -> QColor:
        """The background with the grid on it as ``img`` shows it: each corner's 16×16
        patch averaged, then the middle value of the four per channel (a hairline
        through one corner does not count)."""
        w, h = img.width(), img.height()
        n = min(16, w, h)
        avg = [img.copy(x, y, n, n).scaled(1, 1, Qt.IgnoreAspectRatio,
                                           Qt.SmoothTransformation).pixelColor(0, 0)
               for x, y in ((0, 0), (w - n, 0), (0, h - n), (w - n, h - n))]
        mid = [sorted(ch)[1:3] for ch in zip(*((c.red(), c.green(), c.blue()) for c in avg))]
        return QColor(*(round((lo + hi) / 2) for lo, hi in mid))

    def _draw_strips(self, p: QPainter, strips: list[QRectF], lines,
                     tint: QColor | None = None) -> None:
        """Draw the grid and the hairlines that cross ``strips`` (viewport pixels) with
        the view's transform, clipped to each strip. The hairlines go in the overview's
        runs (its stacking order where they cross). With a ``tint`` (a frame shown only
        until a zoom settles) they go one call per colour, and a grid finer than
        PREVIEW_GRID_PX (a faint texture of thousands of lines) is the flat ``tint``."""
        t = self.viewportTransform()
        inv = t.inverted()[0]
        coords, runs, flat, shade = self._hairline_index(lines)
        x0, y0, x1, y1 = coords[:, 0], coords[:, 1], coords[:, 2], coords[:, 3]
        lo_x, hi_x = np.minimum(x0, x1), np.maximum(x0, x1)
        lo_y, hi_y = np.minimum(y0, y1), np.maximum(y0, y1)
        pens: dict[int, QPen] = {}
        for strip in strips:
            p.resetTransform()  # the clip is in the viewport's pixels
            p.setClipRect(strip)
            p.setRenderHints(self.renderHints())
            p.setWorldTransform(t)
            grown = inv.mapRect(strip.adjusted(-4, -4, 4, 4))  # lines run through the clip
            p.save()
            if tint is not None and self._grid_px() < PREVIEW_GRID_PX:
                p.fillRect(grown, tint)
            else:
                self.drawBackground(p, grown)
            p.restore()
            p.setRenderHint(QPainter.Antialiasing, False)
            l, tp, r, b = grown.left(), grown.top(), grown.right(), grown.bottom()
            hit = np.flatnonzero((lo_x <= r) & (hi_x >= l) & (lo_y <= b) & (hi_y >= tp))
            if not len(hit):
                continue
            group = runs[hit]
            if tint is not None:
                group = shade[group]
                order = np.argsort(group, kind="stable")
                hit, group = hit[order], group[order]
            # in drawing order, in runs of one colour (as _overview_base draws them)
            cuts = [0, *(np.flatnonzero(np.diff(group)) + 1).tolist(), len(hit)]
            for start, end in zip(cuts, cuts[1:]):
                colour = lines[runs[hit[start]]][0]
                pen = pens.get(colour.rgba())
                if pen is None:
                    pen = pens[colour.rgba()] = QPen(colour, 0)
                p.setPen(pen)
                p.drawLines(flat[hit[start:end]].tolist())

    def _hairline_index(self, lines) -> tuple:
        """(coordinates N×4, run of each line, the lines in order, a number per run's
        colour) for ``lines``, made once per overview."""
        idx = self._line_index
        if idx is None or idx[0] is not lines:
            flat, runs = [], []
            for k, (_, run) in enumerate(lines):
                flat.extend(run)
                runs.extend([k] * len(run))
            coords = np.array([(ln.x1(), ln.y1(), ln.x2(), ln.y2()) for ln in flat],
                              dtype=float).reshape(-1, 4)
            objs = np.empty(len(flat), dtype=object)
            objs[:] = flat
            seen: dict[int, int] = {}
            shade = np.array([seen.setdefault(c.rgba(), len(seen)) for c, _ in lines],
                             dtype=np.int64)
            idx = self._line_index = (lines, coords, np.asarray(runs, dtype=np.int64),
                                      objs, shade)
        return idx[1:]

    def _grid_px(self) -> float:
        """The grid's spacing on screen, in pixels."""
        z = self.zoom()
        return z * (GRID if z >= 0.5 else GRID * 5)

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        t = self.scene().theme
        painter.fillRect(rect, t.background)
        z = self.zoom()
        step = GRID if z >= 0.5 else GRID * 5
        top, bottom, left, right = rect.top(), rect.bottom(), rect.left(), rect.right()
        key = (left, top, right, bottom, step)
        got = self._grid_lines
        if got is None or got[0] != key:  # the same area as the last frame (a slider tick)
            got = self._grid_lines = (key, *self._grid(rect, step))
        for lines, colour in ((got[1], t.grid_minor), (got[2], t.grid_major)):
            pen = QPen(colour, 0)  # cosmetic: one pixel at every zoom
            painter.setPen(pen)
            # one call for all (far out there are thousands, drawn in the same order)
            painter.drawLines(lines)

    @staticmethod
    def _grid(rect: QRectF, step: float) -> tuple[list[QLineF], list[QLineF]]:
        """The minor and the major grid lines across ``rect``."""
        left = math.floor(rect.left() / step) * step
        top = math.floor(rect.top() / step) * step
        minor, major = [], []
        x = left
        while x < rect.right():
            (major if round(x / step) % 5 == 0 else minor).append((x, True))
            x += step
        y = top
        while y < rect.bottom():
            (major if round(y / step) % 5 == 0 else minor).append((y, False))
            y += step
        top, bottom, left, right = rect.top(), rect.bottom(), rect.left(), rect.right()
        return tuple([QLineF(v, top, v, bottom) if vertical else QLineF(left, v, right, v)
                      for v, vertical in lines] for lines in (minor, major))

    # ------------------------------------------------------------------- mouse
    def _scene_point(self, event) -> tuple[QPointF, QPoint]:
        vp = event.position().toPoint()
        return self.mapToScene(vp), vp

    def mousePressEvent(self, event) -> None:  # noqa: N802
        sp, vp = self._scene_point(event)
        self._keep_fitted = False  # the user is working here: resizes keep the view as it is
        if self._gesture is not None:
            self._gesture.cancel()
            self._gesture = None
        if self._editor is not None and self._editor not in self.items(vp):
            self._editor.finish(True)  # clicking elsewhere ends a rename, like focus loss
        if event.button() == Qt.LeftButton and isinstance(self.itemAt(vp), QuizField):
            super().mousePressEvent(event)  # a quiz field takes the click: no drag, no wire
            return
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and (
                self._space or self.scene().read_only)):  # presenting: a drag pans
            self._gesture = PanGesture(self, vp)
            event.accept()
            return
        if event.button() == Qt.LeftButton:
            port = port_at(self, vp)
            if port is not None:
                self._gesture = self._wire_gesture(port)
                if self._gesture is not None:
                    event.accept()
                    return
            super().mousePressEvent(event)
            if node_at(self, vp) is not None:
                self._gesture = MoveGesture(self)
            return
        super().mousePressEvent(event)

    def _wire_gesture(self, port: Port) -> Gesture | None:
        if port.is_output:
            return ConnectGesture(self, port)
        src = self.document.graph.source_of(port.node_id, port.port)
        if src is None:
            return ConnectGesture(self, port)
        edge = self.scene().edges.get((src, port.node_id, port.port))
        return RerouteGesture(self, port, edge) if edge is not None else None

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        sp, vp = self._scene_point(event)
        g = self._gesture
        if g is not None and not isinstance(g, MoveGesture):
            g.move(sp, vp)
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        sp, vp = self._scene_point(event)
        g, self._gesture = self._gesture, None
        if g is not None and not isinstance(g, MoveGesture):
            g.release(sp, vp)
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if g is not None:
            g.release(sp, vp)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        if self.scene().read_only:
            event.accept()
            return
        self._double_click(event)

    def _double_click(self, event) -> None:
        sp, vp = self._scene_point(event)
        if event.button() != Qt.LeftButton or isinstance(self.itemAt(vp), QuizField):
            super().mouseDoubleClickEvent(event)
            return
        node = node_at(self, vp)
        if node is None:
            if not any(isinstance(it, EdgeItem) for it in self.items(vp)):
                self.open_quick_add(vp)
            return
        local = node.mapFromScene(sp)
        if local.y() <= HEADER + 2:
            self.start_rename(node.node_id)
            return
        super().mouseDoubleClickEvent(event)

    def wheelEvent(self, event) -> None:  # noqa: N802
        dy = event.angleDelta().y()
        if dy == 0:
            return
        self._zoom_step()
        self.zoom_at(event.position().toPoint(), math.pow(1.0015, dy))
        event.accept()

    def zoom_at(self, view_pos: QPoint, factor: float) -> None:
        """Zoom keeping the scene point under ``view_pos`` where it is."""
        before = self.mapToScene(view_pos)
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.NoAnchor)
        self.zoom_by(factor)
        self.setTransformationAnchor(anchor)
        moved = self.mapFromScene(before) - view_pos
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() + moved.x())
        v.setValue(v.value() + moved.y())

    # --------------------------------------------------------------------- keys
    def event(self, event) -> bool:
        # Tab opens the quick-add popup instead of moving the keyboard focus
        if event.type() == QEvent.KeyPress and event.key() == Qt.Key_Tab \
                and self._editor is None:
            self.keyPressEvent(event)
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if self._editor is not None or self.scene().focusItem() is not None:
            super().keyPressEvent(event)
            return
        key, mods = event.key(), event.modifiers()
        if self.scene().read_only and (
                event.matches(QKeySequence.Undo) or event.matches(QKeySequence.Redo)
                or key in (Qt.Key_Delete, Qt.Key_Backspace, Qt.Key_Tab)):
            event.accept()  # presenting: nothing is edited from the canvas
            return
        if event.matches(QKeySequence.Undo):
            self.document.undo_stack.undo()
        elif event.matches(QKeySequence.Redo) or (key == Qt.Key_Y and mods & Qt.ControlModifier):
            self.document.undo_stack.redo()
        elif key in (Qt.Key_Delete, Qt.Key_Backspace):
            self.delete_selection()
        elif key == Qt.Key_Escape and self._gesture is not None:
            self._gesture.cancel()
            self._gesture = None
        elif key == Qt.Key_Escape:
            self.scene().clearSelection()
        elif key == Qt.Key_Tab:
            self.open_quick_add(self.mapFromGlobal(self.cursor().pos()))
        elif key in (Qt.Key_Equal, Qt.Key_Plus) and mods & Qt.ControlModifier:
            self.zoom_in()
        elif key in (Qt.Key_Minus, Qt.Key_Underscore) and mods & Qt.ControlModifier:
            self.zoom_out()
        elif key == Qt.Key_F and mods & Qt.ControlModifier:
            self.open_find()
        elif key == Qt.Key_F and not mods & (Qt.ControlModifier | Qt.AltModifier):
            self.fit_all()
        elif key == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.OpenHandCursor)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def keyReleaseEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
        super().keyReleaseEvent(event)

    def delete_selection(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.document.delete(ids)

    # ----------------------------------------------------------------- rename
    def start_rename(self, nid: str) -> None:
        """Open the inline name editor over node ``nid``."""
        item = self.scene().nodes.get(nid)
        if item is None or self._editor is not None:
            return

        def done(text: str | None) -> None:
            self._editor = None
            self.setFocus()
            if text is None or nid not in self.document.graph:
                return
            why = self.document.rename(nid, text)
            if why:
                self.statusMessage.emit(f"Not renamed: {why}")

        self.setFocus()
        self._editor = RenameEditor(item, self.document.graph.name_of(nid), done)
        self.scene().addItem(self._editor)
        self._editor.start()

    # -------------------------------------------------------------- quick add
    def open_quick_add(self, view_pos: QPoint, callback=None, ops: list[str] | None = None) -> bool:
        """Show the quick-add popup at ``view_pos``; the chosen op is placed there (or
        handed to ``callback``). False when the popup is not available."""
        try:
            from gui.quickadd import QuickAddPopup
        except ImportError:
            self.statusMessage.emit("Quick-add is not available")
            return False
        if self._quick is None:
            self._quick = QuickAddPopup(self)
            self._quick.opChosen.connect(self._quick_chosen)
        sp = self.mapToScene(view_pos)
        if callback is None:
            def callback(op: str, sp=sp) -> None:
                self.select_ids([self.document.add_node(op, (sp.x() - 20.0, sp.y() - 12.0))])
        self._quick_callback = callback
        self._quick.open_at(self.viewport().mapToGlobal(view_pos), ops)
        return True

    def quick_add_popup(self):
        """The popup (None until first opened); tests choose from it like a user."""
        return self._quick

    def _quick_chosen(self, op: str) -> None:
        cb, self._quick_callback = self._quick_callback, None
        if cb is not None:
            cb(op)

    # ---------------------------------------------------------------- context
    def contextMenuEvent(self, event) -> None:  # noqa: N802
        if self.scene().read_only:
            event.accept()
            return
        self._context_menu(event)

    def _context_menu(self, event) -> None:
        node = node_at(self, event.pos())
        if node is None:
            menu = QMenu(self)
            vp = event.pos()
            menu.addAction("Add node…", lambda: self.open_quick_add(vp))
            menu.addAction("Fit all", self.fit_all)
            menu.exec(event.globalPos())
            return
        if not node.isSelected():
            self.scene().clearSelection()
            node.setSelected(True)
        self.node_menu(node.node_id).exec(event.globalPos())

    def node_menu(self, nid: str) -> QMenu:
        """Mark as output, Rename, Delete for node ``nid``."""
        menu = QMenu(self)
        out = menu.addAction("Mark as output", lambda: self.document.set_output(nid))
        out.setCheckable(True)
        out.setChecked(self.document.graph.output == nid)
        menu.addAction("Rename…", lambda: self.start_rename(nid))
        for extra in self.node_menu_extras:  # entries the window adds (forward mode)
            extra(menu, nid)
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.document.delete(self.selected_ids() or [nid]))
        return menu

    # ------------------------------------------------------------------ drops
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if self.scene().read_only:
            event.ignore()
            return
        self._drag_enter(event)

    def _drag_enter(self, event) -> None:
        if event.mimeData().hasFormat(OP_MIME) or event.mimeData().hasFormat(COLUMN_MIME):
            event.setDropAction(Qt.CopyAction)
            event.accept()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasFormat(OP_MIME) or event.mimeData().hasFormat(COLUMN_MIME):
            event.setDropAction(Qt.CopyAction)
            event.accept()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        md = event.mimeData()
        if md.hasFormat(COLUMN_MIME):  # a dataset column: a data leaf bound to it
            column = bytes(md.data(COLUMN_MIME)).decode("utf-8", "replace").strip()
            sp = self.mapToScene(event.position().toPoint())
            nid = self.document.add_data_leaf(column, (sp.x() - 20.0, sp.y() - 12.0))
            event.setDropAction(Qt.CopyAction)
            event.accept()
            self._keep_fitted = False
            self.select_ids([nid])
            self.setFocus()
            return
        if not md.hasFormat(OP_MIME):
            super().dropEvent(event)
            return
        op = bytes(md.data(OP_MIME)).decode("utf-8", "replace").strip()
        if op not in OPS:
            self.statusMessage.emit(f"Unknown node kind {op!r}")
            event.ignore()
            return
        sp = self.mapToScene(event.position().toPoint())
        # the cursor ends up on the new node's header, near its symbol
        nid = self.document.add_node(op, (sp.x() - 20.0, sp.y() - 12.0))
        event.setDropAction(Qt.CopyAction)
        event.accept()
        self._keep_fitted = False
        # the new node is selected, so the inspector shows it ready for a value or a name
        self.select_ids([nid])
        self.setFocus()

    # ---------------------------------------------------------------- signals
    def _selection_changed(self) -> None:
        try:
            ids = self.selected_ids()
        except RuntimeError:  # scene torn down
            return
        self.selectionChangedIds.emit(ids)
