"""One node on the canvas: a card (ops) or a pill (leaves) showing two numbers.

The card is exactly ``engine.layout.node_size`` with its top-left at the node's
``pos``, so the auto-layout and the picture agree. It shows the op symbol, the
node's name, its value and ∂L/∂node, all as text the engine produced.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from engine.evaluate import Result
from engine.graph import Graph
from engine.labels import display_name, grad_symbol, node_formula
from engine.layout import NORMAL, node_size
from engine.numfmt import fmt, full
from engine.ops import OPS
from gui.canvas.port_item import HIT_RADIUS, Port, paint_port
from gui.canvas.quiz_field import QUIZ_BLANK, QUIZ_FIELD, QUIZ_WITHHELD
from gui.canvas.theme import font

HEADER = 24.0
#: room around the card for the shadow, the output tag and the fault badge
MARGIN_X = 12.0
MARGIN_TOP = 22.0
MARGIN_BOTTOM = 8.0
LEAF_RADIUS = 22.0
CARD_RADIUS = 8.0
PORT_LABEL_MIN_LOD = 0.55
TEXT_MIN_LOD = 0.3
#: below this zoom a node is a flat box (no shadow, rounding, text or ports)
BOX_MIN_LOD = 0.15
#: height of forward mode's tangent tag above the card
TANGENT_TAG_H = 17.0


#: looked up once: Qt calls itemChange for every flag, z and position set
_POSITION_CHANGED = QGraphicsItem.ItemPositionHasChanged
_SELECTED_CHANGED = QGraphicsItem.ItemSelectedHasChanged
#: or-ing the flags costs more than setting them (the binding's enums are Python objects)
_FLAGS = (QGraphicsItem.ItemIsMovable | QGraphicsItem.ItemIsSelectable
          | QGraphicsItem.ItemSendsGeometryChanges)


def accent(t, op: str) -> QColor:
    """A node kind's accent colour in theme ``t`` (cached: the far-zoom overview asks
    for every node)."""
    key = (id(t), op)
    c = _ACCENTS.get(key)
    if c is None:
        spec = OPS[op]
        c = _ACCENTS[key] = (t.leaf_accent[op] if spec.is_leaf else
                             t.group_accent.get(spec.group, t.selection))
    return c


_ACCENTS: dict[tuple[int, str], QColor] = {}
#: text scale → the five fonts of a card (see NodeItem._scale_fonts)
_CARD_FONTS: dict[float, tuple] = {}
#: the kind tag a leaf's card shows
_TAGS = {"input": "input", "param": "θ trainable", "const": "const", "data": "data"}


#: id(font) → (font, its metrics): the cards' fonts are shared, and a paint asked for
#: new metrics objects six times
_METRICS: dict[int, tuple] = {}


def _metrics(f) -> QFontMetricsF:
    got = _METRICS.get(id(f))
    if got is None or got[0] is not f:
        got = _METRICS[id(f)] = (f, QFontMetricsF(f))
    return got[1]


def port_y(height: float, index: int, count: int) -> float:
    """Vertical position of input port ``index`` of ``count``: spread over the body."""
    return HEADER + (height - HEADER) * (index + 0.5) / count


def output_port_y(height: float) -> float:
    return HEADER + (height - HEADER) / 2.0


class _WordedWhenRead:
    """A card's number, kept as a float until read and then as its text (``fmt``):
    ``name`` reads and writes ``_name``; text set directly ("—", "?") is kept as is."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, item, owner: type | None = None):
        if item is None:
            return self
        v = getattr(item, self.slot)
        if not isinstance(v, str):
            v = fmt(v)
            setattr(item, self.slot, v)
        return v

    def __set__(self, item, text: str) -> None:
        setattr(item, self.slot, text)


class NodeItem(QGraphicsItem):
    """The picture of one node. The scene calls ``sync`` when the model changes."""

    Type = QGraphicsItem.UserType + 1

    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id
        self.edges: set = set()
        self.w, self.h = 170.0, 78.0
        self.op = "input"
        self.name = ""
        self.column: str | None = None
        self.symbol = ""
        #: the two numbers as text, or as the float not yet worded (see value_text)
        self._value_text: str | float = "—"
        self._grad_text: str | float = "—"
        self._opacity = 1.0
        self.value_caption = "value"
        #: with a dataset, the output's "mean over N samples" step (a child card)
        self.mean_card: MeanCard | None = None
        self.grad_caption = "∂L/∂"
        self.grad_sign = 0
        self.is_output = False
        self.greyed = False
        #: drawn with a glow ring (set by CanvasScene.set_highlight)
        self.highlighted = False
        #: during a step-through pass: (value shown?, gradient so far or None, partial?)
        self.pass_state: tuple[bool, float | None, bool] | None = None
        #: during a quiz: (value quizzed?, gradient quizzed?): blanks a field covers
        self.quiz_state: tuple[bool, bool] | None = None
        self.fault: str | None = None
        #: forward mode: the tangent drawn in a tag above the card (``ḣ = 2``), or None
        self.tangent_text: str | None = None
        self._tangent_tip = ""
        #: why the gradient shown is NaN or ∞ (the badge says "hover me" for either)
        self.grad_fault: str | None = None
        self.port_labels: list[str] = []
        #: the ports, drawn and hit-tested by this item (see port_item)
        self.in_ports: list[Port] = []
        #: port name → index in in_ports (a sum can have thousands of ports)
        self._port_at: dict[str, int] = {}
        self.out_port = Port(self, node_id, None)
        #: the port under the mouse (drawn larger), if any
        self._hover_port: Port | None = None
        #: the card's outline, and the card with the ports' hit areas (see shape)
        self._card_path: QPainterPath | None = None
        self._card_key: tuple | None = None
        self._hit_path: QPainterPath | None = None
        #: how far the lowest port's hit area reaches below the card (a tall sum)
        self._port_bottom = 0.0
        self._numbers: tuple | None = None
        self._tip_from: tuple | None = None
        self._caption_key: tuple | None = None
        self._caption = ""
        self._box: tuple | None = None
        self._band: tuple | None = None
        self._brect: tuple | None = None
        self._qbox: QRectF | None = None
        self._qbox_of: tuple | None = None
        self._text_scale = 0.0
        self._scale_fonts(1.0)
        self.setFlags(_FLAGS)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)

    def type(self) -> int:
        return self.Type

    # a slider tick changes every node's numbers, but only the cards in view are read:
    # the text is made when first asked for (the paint, a test, the tooltip)
    value_text = _WordedWhenRead()
    grad_text = _WordedWhenRead()

    def _scale_fonts(self, ts: float) -> None:
        """The card's fonts at ``ts`` times the editor's size (presentation mode)."""
        if ts == self._text_scale:
            return
        self._text_scale = ts
        fonts = _CARD_FONTS.get(ts)
        if fonts is None:  # made once per scale and shared: a card never changes its fonts
            fonts = _CARD_FONTS[ts] = (
                font(round(13 * ts), bold=True), font(round(12 * ts), bold=True),
                font(round(11 * ts)), font(round(12 * ts), bold=True),
                font(round(10 * ts), bold=True))
        self._f_name, self._f_symbol, self._f_small, self._f_num, self._f_tag = fonts

    # ----------------------------------------------------------------- model → item
    def sync(self, graph: Graph, result: Result) -> None:
        """Take everything but the numbers from the graph: size, ports, name, kind."""
        node = graph.node(self.node_id)
        scene = self.scene()
        geometry = scene.geometry if scene is not None else NORMAL
        self._scale_fonts(geometry.text_scale)
        w, h = node_size(graph, self.node_id, geometry)
        if (w, h) != (self.w, self.h):
            self.prepareGeometryChange()
            self.w, self.h = w, h
            self._box = None
            if self.scene() is not None:
                self.scene().node_geometry_changed(self)
        far = (self.op, self.is_output, self.greyed)
        self.op = node.op
        spec = OPS[node.op]
        self.symbol = spec.symbol_for(node.attrs)
        self.name = display_name(graph, self.node_id)
        self.column = node.column
        self.is_output = result.output == self.node_id
        ports = [] if spec.is_leaf else graph.ports(self.node_id)
        self.port_labels = [spec.port_label(p) for p in ports] if len(ports) > 1 else []
        self._sync_ports(graph, ports)
        pos = scene.shown_pos(self.node_id, node.pos) if scene is not None else node.pos
        if QPointF(*pos) != self.pos():
            self.setPos(*pos)
        self._numbers = None
        self.sync_numbers(graph, result)
        if far != (self.op, self.is_output, self.greyed) and self.scene() is not None:
            self.scene().overview_changed(edges=False)  # the far-zoom box's colour
        self.update()

    def _sync_ports(self, graph: Graph, ports: list[str]) -> None:
        have = [p.port for p in self.in_ports]
        if have != ports:
            keep = {p.port: p for p in self.in_ports}
            new = []
            for name in ports:
                item = keep.pop(name, None) or Port(self, self.node_id, name)
                new.append(item)
            for gone in keep.values():
                if gone is self._hover_port:
                    self._hover_port = None
            self.in_ports = new
            self._port_at = {p.port: i for i, p in enumerate(new)}
            self.update()
        fed = {k for keys in graph.nx._pred[self.node_id].values() for k in keys} \
            if ports else ()
        n = len(self.in_ports)
        moved = False
        for i, item in enumerate(self.in_ports):
            y = port_y(self.h, i, n)
            if item.y != y:
                item.y, moved = y, True
            item.set_fed(item.port in fed)
        out = self.out_port
        if (out.x, out.y) != (self.w, output_port_y(self.h)):
            out.x, out.y, moved = self.w, output_port_y(self.h), True
        if moved:
            self._hit_path = None
            self.update()
        bottom = max(0.0, self.in_ports[-1].y + HIT_RADIUS + 1.0 - self.h - MARGIN_BOTTOM) \
            if self.in_ports else 0.0
        if bottom != self._port_bottom:
            self.prepareGeometryChange()
            self._port_bottom = bottom

    def sync_numbers(self, graph: Graph, result: Result) -> bool:
        """Update the two numbers and the state they imply; False when nothing changed."""
        nr = result.nodes.get(self.node_id)
        has_output = result.output is not None
        # the caption (∂L/∂w₁) names the output: renaming the output changes every node's
        out = result.output
        ck = (out, self.name)
        if out is not None:
            d = graph.nx._node.get(out)
            ck = (out, self.name, d and d["name"], d and d["op"] == "const" and d["value"])
        if ck != self._caption_key:
            self._caption_key = ck
            self._caption = grad_symbol(graph, result, self.node_id)
        caption = self._caption
        b = result.batch
        bkey = None if b is None else (b.sample, b.n, b.mean_loss, b.param_grads.get(self.node_id))
        key = (None if nr is None else (nr.value, nr.grad, nr.on_path, nr.reason, nr.grad_reason),
               result.output, self.name, caption, self.pass_state, bkey, self.quiz_state)
        if key == self._numbers:
            return False
        self._numbers = key
        far = (self.is_output, self.greyed)
        self.is_output = result.output == self.node_id
        if nr is None:
            self._value_text, self._grad_text, self.grad_sign = "—", "—", 0
            self.fault, self.grad_fault, self.greyed = None, None, False
        else:
            self._value_text = float(nr.value)  # worded by value_text when read
            self.fault = nr.reason if not math.isfinite(nr.value) else None
            self.grad_fault = (nr.grad_reason if nr.grad is not None and nr.on_path
                               and has_output and not math.isfinite(nr.grad) else None)
            if nr.grad is None:  # a constant: nothing is differentiated with respect to it
                self._grad_text, self.grad_sign = "", 0
                caption = "constant: no gradient"
            elif has_output and nr.on_path:
                self._grad_text = float(nr.grad)
                self.grad_sign = (2 if not math.isfinite(nr.grad) else
                                  0 if nr.grad == 0 else (1 if nr.grad > 0 else -1))
            else:
                self._grad_text, self.grad_sign = "—", 0
            self.greyed = has_output and not nr.on_path
            if self.pass_state is not None:
                self._hide_unreached(nr.on_path and has_output and nr.grad is not None)
        self.value_caption = "value"
        if b is not None and nr is not None:
            self._batch_numbers(b, graph)
            caption = self._batch_caption(b, caption)
        if self.quiz_state is not None and nr is not None:
            # the quiz asks for the shown sample's own numbers: blanks, plain captions
            blank = {QUIZ_FIELD: QUIZ_BLANK, QUIZ_WITHHELD: "?"}
            if self.quiz_state[0]:
                self.value_text, self.fault = blank[self.quiz_state[0]], None
                self.value_caption = "value"
            if self.quiz_state[1]:
                self.grad_text, self.grad_sign = blank[self.quiz_state[1]], 0
                self.grad_fault = None
                caption = self._caption
        self.grad_caption = caption
        if b is not None or self.mean_card is not None:
            self._sync_mean_card(result, graph)
        opacity = 0.5 if self.greyed else 1.0
        if self._opacity != opacity:  # (asking Qt costs a call through the binding)
            self._opacity = opacity
            self.setOpacity(opacity)
        self._tip_from = (graph, result)  # worded on hover: a slider tick changes many
        self.update()
        if far != (self.is_output, self.greyed) and self.scene() is not None:
            self.scene().overview_changed(edges=False)  # the far-zoom box's colour or opacity
        return True

    # ------------------------------------------------------------ datasets
    def _batch_numbers(self, b, graph: Graph) -> None:
        """With a dataset the loss shows the mean loss and a param the batch gradient
        it is trained with; everything else shows the picked sample's numbers."""
        which = "mean" if b.sample is None else f"sample {b.sample + 1}"
        if self.is_output:
            self.value_text = fmt(b.mean_loss)
            self.value_caption = "mean"
        elif self.op == "data":
            self.value_caption = which
        g = b.param_grads.get(self.node_id)
        if g is not None and self.pass_state is None:
            self.grad_text = fmt(g)
            self.grad_sign = (2 if not math.isfinite(g) else 0 if g == 0 else
                              (1 if g > 0 else -1))

    def _batch_caption(self, b, caption: str) -> str:
        if self.node_id in b.param_grads:
            return caption.replace("∂L/", "∂L̄/", 1) if caption.startswith("∂L/") \
                else "batch " + caption
        return caption

    def _sync_mean_card(self, result: Result, graph: Graph) -> None:
        b = result.batch
        want = b is not None and self.is_output
        if not want:
            if self.mean_card is not None:
                if self.scene() is not None:
                    self.scene().removeItem(self.mean_card)
                self.mean_card.setParentItem(None)
                self.mean_card = None
            return
        if self.mean_card is None:
            self.mean_card = MeanCard(self)
        nr = result.nodes.get(self.node_id)
        self.mean_card.set_numbers(b, display_name(graph, self.node_id),
                                   None if nr is None else nr.value)
        self.mean_card.setPos(self.w + 34.0, (self.h - self.mean_card.h) / 2)

    def toolTip(self) -> str:  # noqa: N802 - Qt's name
        self._word_tooltip()
        tip = super().toolTip()
        return f"{tip}\n{self._tangent_tip}" if self.tangent_text and self._tangent_tip else tip

    def _word_tooltip(self) -> None:
        if self._tip_from is not None:
            graph, result = self._tip_from
            self._tip_from = None
            if self.node_id in graph:
                self.setToolTip(self._tooltip(graph, result))

    def hoverEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._word_tooltip()
        self._hover_at(event.pos())
        super().hoverEnterEvent(event)

    def hoverMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._hover_at(event.pos())
        super().hoverMoveEvent(event)

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._set_hover_port(None)
        super().hoverLeaveEvent(event)

    def _hover_at(self, pos: QPointF) -> None:
        self._set_hover_port(self.port_near(pos.x(), pos.y()))

    def _set_hover_port(self, port: Port | None) -> None:
        """The mouse is over ``port`` (None: over no port): it is drawn larger and the
        cursor is a cross, as over the port items of before."""
        old = self._hover_port
        if port is old:
            return
        if old is not None:
            old.set_hover(False)
        self._hover_port = port
        if port is not None:
            port.set_hover(True)
            self.setCursor(Qt.CrossCursor)
        else:
            self.unsetCursor()

    def set_tangent(self, text: str | None, tip: str = "") -> None:
        """Forward mode's tangent of this node (set by CanvasScene.set_tangents); None
        takes the tag away. The tag counts as part of the card, so labels keep off it."""
        if text == self.tangent_text:
            return
        self.tangent_text = text
        self._tangent_tip = tip
        self._box = None
        if self.scene() is not None:
            self.scene().node_geometry_changed(self)
        self.update()

    def tangent_rect(self) -> QRectF | None:
        """The tangent tag, in item coordinates, left above the card (the output tag
        is on the right); None when no tangent is shown."""
        if not self.tangent_text:
            return None
        w = QFontMetricsF(self._f_num).horizontalAdvance(self.tangent_text) + 14.0
        h = TANGENT_TAG_H * self._text_scale
        return QRectF(4.0, -h - 3.0, w, h)

    def set_pass_state(self, state: tuple[bool, float | None, bool] | None) -> None:
        """Set by CanvasScene.set_pass_mask; the scene then refreshes the numbers."""
        if state != self.pass_state:
            self.pass_state = state
            self._numbers = None

    def set_quiz_state(self, state: tuple[bool, bool] | None) -> None:
        """Set by CanvasScene.set_quiz; the scene then refreshes the numbers."""
        if state != self.quiz_state:
            self.quiz_state = state
            self._numbers = None
            self._tip_from = None
            self.setToolTip("")

    def number_rect(self, row: int, width: float) -> QRectF:
        """Where the card writes its value (row 0) or gradient (row 1), ``width`` wide
        and right-aligned as the number is: a quiz field goes there."""
        inset = 16.0 if OPS[self.op].is_leaf else 12.0
        y = port_y(self.h, row, 2)
        return QRectF(self.w - inset - width, y - 10.0, width, 20.0)

    def number_font(self):
        return self._f_num

    def _hide_unreached(self, on_path: bool) -> None:
        """A pass has not computed these yet: "?" instead of the number; a gradient
        still being summed shows its running total followed by "+ …"."""
        value_known, grad, partial = self.pass_state
        if not value_known:
            self.value_text, self.fault = "?", None
        if grad is None or math.isfinite(grad):
            self.grad_fault = None
        if not on_path:
            return
        if grad is None:
            self.grad_text, self.grad_sign = "?", 0
        else:
            self.grad_text = fmt(grad) + (" + …" if partial else "")
            self.grad_sign = (2 if not math.isfinite(grad) else
                              0 if grad == 0 else (1 if grad > 0 else -1))

    def _tooltip(self, graph: Graph, result: Result) -> str:
        spec = OPS[self.op]
        lines = [f"{node_formula(graph, self.node_id)}    ({spec.title.lower()})"]
        nr = result.nodes.get(self.node_id)
        if nr is not None and self.quiz_state is not None:  # no number a field asks for
            lines.append("value = ?" if self.quiz_state[0] else f"value = {full(nr.value)}")
            if nr.grad is not None and nr.on_path and result.output is not None:
                g = "?" if self.quiz_state[1] else full(nr.grad)
                lines.append(f"{grad_symbol(graph, result, self.node_id)} = {g}")
        elif nr is not None:
            lines.append(f"value = {full(nr.value)}")
            if nr.reason:
                lines.append(f"⚠ {nr.reason}")
            if result.output is None:
                why = str(result.output_error) if result.output_error else "no output"
                lines.append(f"no gradient: {why}")
            elif nr.grad is None:
                lines.append("a constant: it has no gradient")
            elif nr.on_path:
                lines.append(f"{grad_symbol(graph, result, self.node_id)} = {full(nr.grad)}")
                if nr.grad_reason:
                    lines.append(f"⚠ {nr.grad_reason}")
            else:
                lines.append("off the path to the output: it does not affect "
                             f"{display_name(graph, result.output)}")
        if self.op == "param":
            lines.append("θ trainable: gradient descent updates this value")
        if self.is_output:
            lines.append("this node is the output: every ∂ on the canvas is of "
                         f"{display_name(graph, self.node_id)}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ geometry
    def rect(self) -> QRectF:
        """The card, in item coordinates: exactly the engine's node size."""
        return QRectF(0.0, 0.0, self.w, self.h)

    def boundingRect(self) -> QRectF:
        # cached: Qt asks on every paint and for every item a value change updates
        key = (self.w, self.h, self._port_bottom, self.tangent_text, self._text_scale)
        got = self._brect
        if got is None or got[0] != key:
            r = QRectF(-MARGIN_X, -MARGIN_TOP, self.w + 2 * MARGIN_X,
                       self.h + MARGIN_TOP + MARGIN_BOTTOM + self._port_bottom)
            tag = self.tangent_rect()
            got = self._brect = (key, r if tag is None else r.united(tag.adjusted(-2, -2, 2, 2)))
        return got[1]

    def card_path(self) -> QPainterPath:
        """The card's outline (rounded), in item coordinates; cached."""
        key = (self.w, self.h, self._radius())
        if self._card_path is None or self._card_key != key:
            p = QPainterPath()
            p.addRoundedRect(self.rect(), key[2], key[2])
            self._card_path, self._card_key = p, key
            self._hit_path = None
        return self._card_path

    def shape(self) -> QPainterPath:
        """The card and its ports' hit areas: what the mouse finds (a press, hovering,
        ``view.items``). A rubber band selects by the card alone, as when the ports
        were items of their own (not selectable)."""
        card = self.card_path()
        scene = self.scene()
        if scene is not None and scene.band_selecting():
            return card
        if self._hit_path is None:
            p = QPainterPath()
            p.setFillRule(Qt.WindingFill)
            for port in self.in_ports:
                p.addEllipse(QPointF(port.x, port.y), HIT_RADIUS, HIT_RADIUS)
            p.addEllipse(QPointF(self.out_port.x, self.out_port.y), HIT_RADIUS, HIT_RADIUS)
            p.addPath(card)
            self._hit_path = p
        return self._hit_path

    def name_rect(self) -> QRectF:
        """Where the name is written (double-click there renames)."""
        return QRectF(34.0, 0.0, self.w - 34.0 - self._tag_width() - 8.0, HEADER + 2)

    def card_scene_rect(self) -> QRectF:
        return self.mapRectToScene(self.rect())

    def card_box(self) -> tuple[float, float, float, float]:
        """The card as (left, top, right, bottom) in scene coordinates (nodes are
        top-level), cached as plain numbers: label placement reads it very often."""
        if self._box is None:
            p = self.pos()
            top = p.y()
            if self.tangent_text:  # forward mode's tag above the card belongs to it
                top -= TANGENT_TAG_H * self._text_scale + 3.0
            self._box = (p.x(), top, p.x() + self.w, p.y() + self.h)
        return self._box

    def card_qrect(self) -> QRectF:
        """``card_box`` as a QRectF, cached too (the far-zoom overview batches these)."""
        if self._qbox is None or self._qbox_of is not self.card_box():
            b = self._qbox_of = self.card_box()
            self._qbox = QRectF(b[0], b[1], b[2] - b[0], b[3] - b[1])
        return self._qbox

    def port_index(self, port: str) -> int:
        return self._port_at.get(port, len(self.in_ports))

    def port_item(self, port: str | None) -> Port | None:
        """The output port (None) or the input port of that name; None if there is none."""
        if port is None:
            return self.out_port
        i = self._port_at.get(port)
        return None if i is None else self.in_ports[i]

    def port_scene_pos(self, port: str | None) -> QPointF:
        """Where an edge attaches to ``port`` (the output for None), in scene
        coordinates; the node's position for a port it does not show."""
        p = self.port_item(port)
        return p.scenePos() if p is not None else self.pos()

    def port_near(self, x: float, y: float) -> Port | None:
        """The port whose hit area holds the item-coordinate point (x, y), nearest
        first; None when there is none (a quick test on the card's sides first)."""
        if not (-HIT_RADIUS <= x <= HIT_RADIUS or self.w - HIT_RADIUS <= x <= self.w + HIT_RADIUS):
            return None
        best, best_d = None, HIT_RADIUS * HIT_RADIUS
        for p in (self.out_port,) if x > self.w / 2 else self.in_ports:
            dx, dy = x - p.x, y - p.y
            d = dx * dx + dy * dy
            if d <= best_d:
                best, best_d = p, d
        return best

    def port_at(self, scene_pos: QPointF) -> Port | None:
        """The port whose hit area holds the scene point, if any."""
        p = self.mapFromScene(scene_pos)
        return self.port_near(p.x(), p.y())

    def _radius(self) -> float:
        return LEAF_RADIUS if OPS[self.op].is_leaf else CARD_RADIUS

    def _tag_text(self) -> str:
        if self._text_scale != 1.0:
            return ""  # presentation: the narrow card's room goes to the name
        tag = _TAGS.get(self.op, "")
        if self.op == "param" and tag:
            # the name comes first: a name the full tag would cut (w1_2_1) keeps "θ" only
            room = self.w - 40.0 - self._tag_px(tag) - 16.0
            if _metrics(self._f_name).horizontalAdvance(self.name) > room:
                return "θ"
        return tag

    def _tag_px(self, tag: str) -> float:
        return _metrics(self._f_tag).horizontalAdvance(tag) + 12.0

    def _tag_width(self) -> float:
        t = self._tag_text()
        return self._tag_px(t) if t else 0.0

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value):  # noqa: N802
        if change == _POSITION_CHANGED:
            self._box = None
            if self.scene() is not None:
                self.scene().node_geometry_changed(self)
            # siblings (x·x) in port order, so each label avoids the ones placed before it
            for e in sorted(self.edges, key=lambda e: (e.src_item.node_id, e.dst_item.node_id,
                                                       e.dst_item.port_index(e.port))):
                e.update_path()
        elif change == _SELECTED_CHANGED:
            self.setZValue(1.5 if value else 1)
            if self.scene() is not None:
                self.scene().overview_changed(edges=False)
        # QGraphicsItem.itemChange returns the value as it is: not calling it saves a
        # round trip through the binding for each of the ~8 changes a new card sends
        return value

    # ------------------------------------------------------------------- painting
    def far_colour(self, t, selected: bool | None = None) -> QColor:
        """The flat box's colour far out (here and in CanvasScene.overview_boxes, which
        batches these boxes): highlight, selection, output, else the kind's accent.
        ``selected``: isSelected(), when the caller has asked already."""
        if self.highlighted:
            return t.highlight
        if self.isSelected() if selected is None else selected:
            return t.selection
        if self.is_output:
            return t.output
        return accent(t, self.op)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        scene = self.scene()
        if scene is None:
            return
        t = scene.theme
        spec = OPS[self.op]
        leaf = spec.is_leaf
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        accent = t.leaf_accent[self.op] if leaf else t.group_accent.get(spec.group, t.selection)
        if lod < BOX_MIN_LOD:  # far out: a flat box in the group colour, nothing else
            painter.fillRect(self.rect(), self.far_colour(t))
            return
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setRenderHint(QPainter.TextAntialiasing)
        r = self._radius()
        card = self.rect()

        # soft shadow: two offset translucent shapes
        painter.setPen(Qt.NoPen)
        for grow, dy, alpha in ((3.0, 3.0, 0.45), (1.0, 1.5, 1.0)):
            c = QColor(t.shadow)
            c.setAlphaF(c.alphaF() * alpha)
            painter.setBrush(c)
            painter.drawRoundedRect(card.adjusted(-grow, -grow + dy, grow, grow + dy),
                                    r + grow, r + grow)

        if self.highlighted:
            glow = QColor(t.highlight)
            for grow, alpha in ((7.0, 60), (4.0, 120)):
                glow.setAlpha(alpha)
                painter.setBrush(glow)
                painter.drawRoundedRect(card.adjusted(-grow, -grow, grow, grow), r + grow, r + grow)

        # body
        fill = t.leaf_fill[self.op] if leaf else t.card
        if self.highlighted:
            border = QPen(t.highlight, 3.0)
        elif self.isSelected():
            border = QPen(t.selection, 2.5)
        elif self.is_output:
            border = QPen(t.output, 2.5)
        else:
            border = QPen(accent if leaf else t.card_border, 1.3)
        painter.setBrush(fill)
        painter.setPen(border)
        painter.drawRoundedRect(card, r, r)

        # header band (ops): a tinted strip in the group colour
        if not leaf:
            tint = QColor(accent)
            tint.setAlpha(40 if not t.dark else 70)
            painter.setPen(Qt.NoPen)
            painter.setBrush(tint)
            painter.drawPath(self._header_band(r))
            painter.setPen(QPen(QColor(accent.red(), accent.green(), accent.blue(), 90), 1))
            painter.drawLine(QPointF(1, HEADER), QPointF(self.w - 1, HEADER))

        if lod < TEXT_MIN_LOD:
            self._paint_badges(painter, t)
            self._paint_ports(painter, t)
            return

        # symbol chip
        fm = _metrics(self._f_symbol)
        sym_w = max(20.0, fm.horizontalAdvance(self.symbol) + 10.0)
        chip = QRectF(8.0 if not leaf else 12.0, 4.0, sym_w, 17.0)
        painter.setPen(Qt.NoPen)
        painter.setBrush(accent)
        painter.drawRoundedRect(chip, 5, 5)
        painter.setFont(self._f_symbol)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(chip, Qt.AlignCenter, self.symbol)

        # kind tag (leaves): input / θ trainable / const
        tag = self._tag_text()
        tag_w = self._tag_width()
        if tag:
            tr = QRectF(self.w - tag_w - 12.0, 5.0, tag_w, 15.0)
            bg = QColor(accent)
            bg.setAlpha(38 if not t.dark else 80)
            painter.setBrush(bg)
            painter.setPen(QPen(accent, 1))
            painter.drawRoundedRect(tr, 7.5, 7.5)
            painter.setFont(self._f_tag)
            painter.setPen(accent if not t.dark else t.text)
            painter.drawText(tr, Qt.AlignCenter, tag)

        # name
        painter.setFont(self._f_name)
        painter.setPen(t.text)
        left = chip.right() + 7.0
        right = self.w - (tag_w + 16.0 if tag else 10.0)
        name = _metrics(self._f_name).elidedText(self.name, Qt.ElideRight, right - left)
        painter.drawText(QRectF(left, 2.0, right - left, HEADER), Qt.AlignVCenter | Qt.AlignLeft, name)

        # port labels
        if self.port_labels and lod >= PORT_LABEL_MIN_LOD and self._text_scale == 1.0:
            painter.setFont(self._f_small)
            painter.setPen(t.text_muted)
            for item, text in zip(self.in_ports, self.port_labels):
                y = item.y
                painter.drawText(QRectF(11.0, y - 8.0, self.w / 2, 16.0),
                                 Qt.AlignVCenter | Qt.AlignLeft, text)

        # the two numbers, right-aligned: value and ∂L/∂node
        inset = 16.0 if leaf else 12.0
        rows = ((self.value_text, self.value_caption, 0),
                (self.grad_text, self.grad_caption, self.grad_sign))
        for i, (num, caption, sign) in enumerate(rows):
            y = port_y(self.h, i, 2)
            painter.setFont(self._f_num)
            nfm = _metrics(self._f_num)
            nw = nfm.horizontalAdvance(num)
            colour = (t.text if sign == 0 else t.fault if sign == 2 else
                      t.positive if sign > 0 else t.negative)
            if i == 0 and self.fault:
                colour = t.fault
            painter.setPen(colour)
            nrect = QRectF(self.w - inset - nw, y - 9.0, nw + 1, 18.0)
            painter.drawText(nrect, Qt.AlignVCenter | Qt.AlignRight, num)
            painter.setFont(self._f_small)
            painter.setPen(t.text_muted)
            cfm = _metrics(self._f_small)
            # keep clear of the port names drawn on this row (short ones leave room)
            min_left = inset
            shown = self.port_labels if self._text_scale == 1.0 else []
            for item, text in zip(self.in_ports, shown):
                if abs(item.y - y) < 14.0:
                    min_left = max(min_left, 17.0 + cfm.horizontalAdvance(text))
            room = nrect.left() - 6.0 - min_left
            cap = cfm.elidedText(caption, Qt.ElideRight, room) if room > 8 else ""
            painter.drawText(QRectF(nrect.left() - 6.0 - room, y - 9.0, room, 18.0),
                             Qt.AlignVCenter | Qt.AlignRight, cap)

        self._paint_badges(painter, t)
        self._paint_ports(painter, t)

    def _header_band(self, r: float) -> QPainterPath:
        """The card's top strip, under its rounded corners (cached: a path intersection
        on every paint cost more than the rest of the card)."""
        key = (self.w, self.h, r)
        got = self._band
        if got is None or got[0] != key:
            band = QPainterPath()
            band.addRoundedRect(self.rect().adjusted(0.8, 0.8, -0.8, 0), r - 0.8, r - 0.8)
            clip = QPainterPath()
            clip.addRect(QRectF(0, 0, self.w, HEADER))
            got = self._band = (key, band.intersected(clip))
        return got[1]

    def _paint_ports(self, painter: QPainter, t) -> None:
        """The ports, over the card (as child items were drawn)."""
        paint_port(painter, t, self.out_port)
        for port in self.in_ports:
            paint_port(painter, t, port)

    def _paint_tangent(self, painter: QPainter, t) -> None:
        """Forward mode's tangent, in its own colour, in a tag above the card."""
        r = self.tangent_rect()
        if r is None:
            return
        bg = QColor(t.tangent)
        bg.setAlpha(34 if not t.dark else 60)
        painter.setPen(QPen(t.tangent, 1.2))
        painter.setBrush(t.card)
        painter.drawRoundedRect(r, 6, 6)
        painter.setBrush(bg)
        painter.drawRoundedRect(r, 6, 6)
        painter.setFont(self._f_num)
        painter.setPen(t.tangent)
        painter.drawText(r, Qt.AlignCenter, self.tangent_text)

    def _paint_badges(self, painter: QPainter, t) -> None:
        self._paint_tangent(painter, t)
        if self.is_output:
            painter.setFont(self._f_tag)
            text = "output"
            tw = _metrics(self._f_tag).horizontalAdvance(text) + 14.0
            tr = QRectF(self.w - tw - 6.0, -17.0, tw, 15.0)
            painter.setPen(Qt.NoPen)
            painter.setBrush(t.output)
            painter.drawRoundedRect(tr, 4, 4)
            painter.setPen(t.card)
            painter.drawText(tr, Qt.AlignCenter, text)
        if self.fault or self.grad_fault:
            c = QPointF(self.w - 2.0, 0.0) if not self.is_output else QPointF(-2.0, 0.0)
            painter.setPen(QPen(t.card, 1.5))
            painter.setBrush(t.fault)
            painter.drawEllipse(c, 9.0, 9.0)
            painter.setFont(self._f_num)
            painter.setPen(QColor("#ffffff"))
            painter.drawText(QRectF(c.x() - 9, c.y() - 9, 18, 18), Qt.AlignCenter, "!")


class MeanCard(QGraphicsItem):
    """The step where the batch enters the chain rule, drawn right of the output:
    L̄ = (1/N)·Σ Lᵢ, so ∂L̄/∂Lᵢ = 1/N and each param's batch gradient is the mean of
    its per-sample gradients."""

    def __init__(self, parent: "NodeItem") -> None:
        super().__init__(parent)
        self.lines = ["", "", ""]
        self.w, self.h = 230.0, 62.0
        self._f = font(12)
        self._f_bold = font(12, bold=True)
        self.setZValue(-1)

    def set_numbers(self, b, loss_name: str, sample_loss: float | None) -> None:
        head = f"{loss_name}̄ = mean over {b.n:,} samples = {fmt(b.mean_loss)}"
        if b.sample is None:
            mid = "showing every number's mean over the samples"
        else:
            kind = " (test: not trained on)" if b.test else ""
            li = "" if sample_loss is None else f" = {fmt(sample_loss)}"
            mid = f"sample {b.sample + 1}{kind}: {loss_name}ᵢ{li}"
        tail = (f"∂{loss_name}̄/∂{loss_name}ᵢ = 1/{b.n:,}, so a param's ∂{loss_name}̄/∂w is the "
                f"mean of its ∂{loss_name}ᵢ/∂w")
        lines = [head, mid, tail]
        if lines != self.lines:
            self.lines = lines
            fm = QFontMetricsF(self._f)
            fb = QFontMetricsF(self._f_bold)
            w = max(fb.horizontalAdvance(head), *(fm.horizontalAdvance(x) for x in lines[1:]))
            self.prepareGeometryChange()
            self.w = w + 20.0
            self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(-36.0, -2.0, self.w + 40.0, self.h + 4.0)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        scene = self.scene()
        if scene is None:
            return
        t = scene.theme
        painter.setRenderHint(QPainter.Antialiasing)
        pen = QPen(t.output, 1.6)
        painter.setPen(pen)
        y = self.h / 2
        painter.drawLine(QPointF(-32.0, y), QPointF(-6.0, y))
        painter.setBrush(t.output)
        painter.drawPolygon([QPointF(-1.0, y), QPointF(-8.0, y - 4.0), QPointF(-8.0, y + 4.0)])
        painter.setBrush(t.card)
        painter.setPen(QPen(t.output, 1.2, Qt.DashLine))
        painter.drawRoundedRect(QRectF(0.0, 0.0, self.w, self.h), 6, 6)
        painter.setPen(t.text)
        painter.setFont(self._f_bold)
        painter.drawText(QRectF(10.0, 4.0, self.w - 12, 18.0), Qt.AlignVCenter | Qt.AlignLeft,
                         self.lines[0])
        painter.setFont(self._f)
        painter.setPen(t.text_muted)
        for i, line in enumerate(self.lines[1:]):
            painter.drawText(QRectF(10.0, 22.0 + 18.0 * i, self.w - 12, 18.0),
                             Qt.AlignVCenter | Qt.AlignLeft, line)
