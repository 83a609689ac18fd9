"""Step-through passes in the editor: the actions, the timer, and the narration.

The Stepper walks an ``engine.passes.Pass`` one node at a time. At each step it
tells the canvas what is known (``scene.set_pass_mask``) and what is current
(``scene.set_highlight("pass", …)``), and the NarrationView writes out what
happened, in the tutorial's words. Any edit of the graph ends the pass: the
numbers it was hiding would be stale.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QObject, QSize, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import QComboBox, QLabel, QTextBrowser, QVBoxLayout, QWidget

from engine.labels import display_name, grad_symbol, sample_caption
from engine.numfmt import fmt
from engine.passes import BACKWARD, FORWARD, Pass
from engine.tangent_pass import TANGENT, TangentPass
from gui import progress

#: Play speeds offered, in steps per second
SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0)
DEFAULT_SPEED = 1.0
CHANNEL = "pass"
HINT = ("Step the forward pass (Ctrl+Right) to watch values flow from the inputs to the "
        "output, then the backward pass (Ctrl+Left) to watch ∂L/∂… flow back, node by node. "
        "P plays and pauses; Ctrl+R shows every number again.")


class Stepper(QObject):
    """The current pass and step; ``index == len(pass)`` means the pass is complete."""

    changed = Signal()

    def __init__(self, document, scene, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.scene = scene
        self.pass_: Pass | None = None
        self.index = -1
        self.message = HINT
        self.speed = DEFAULT_SPEED
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        #: the leaf a forward-mode pass starts from (set by the window: forward mode's
        #: direction, switched on if it is off); None: no forward-mode pass
        self.tangent_seed = None
        self._build_actions(parent)
        d = document
        for sig in (d.nodeAdded, d.nodeRemoved, d.nodeChanged, d.edgeAdded, d.edgeRemoved,
                    d.outputChanged, d.graphReset):
            sig.connect(self._graph_edited)  # moving a node changes no number: the pass goes on
        d.datasetChanged.connect(self._graph_edited)
        # the pass's words are one sample's numbers: another sample's would not match
        d.sampleChanged.connect(self._sample_changed)
        self._update_actions()

    # ----------------------------------------------------------------- actions
    def _build_actions(self, parent) -> None:
        def act(text: str, short: str, slot, keys: str, tip: str) -> QAction:
            a = QAction(text, parent or self)
            a.setIconText(short)  # what the toolbar shows
            a.setShortcut(QKeySequence(keys))
            a.setToolTip(f"{tip} ({QKeySequence(keys).toString(QKeySequence.NativeText)})")
            a.setStatusTip(a.toolTip())
            a.triggered.connect(lambda _c=False: slot())
            return a
        self.act_forward = act("Step &Forward Pass", "Forward ▸", self.step_forward, "Ctrl+Right",
                               "Step the forward pass: compute the next node's value")
        self.act_backward = act("Step &Backward Pass", "◂ Backward", self.step_backward, "Ctrl+Left",
                                "Step the backward pass: send the next node's ∂L/∂… "
                                "back along its input edges")
        self.act_tangent = act("Step Forward-&Mode Pass", "Tangent ▸", self.step_tangent,
                               "Ctrl+Shift+Right", "Step forward mode: the next node's tangent "
                               "ẋ = ∂x/∂(leaf) from its inputs' tangents")
        self.act_play = act("&Play", "Play", self.play, "P", "Play the passes step by step at the "
                            "chosen speed: forward, then backward")
        self.act_pause = act("P&ause", "Pause", self.pause, "P", "Pause playing")
        self.act_reset = act("&Reset Pass", "Reset", self.reset, "Ctrl+R",
                             "End the pass and show every number again")
        self.speed_box = QComboBox()
        self.speed_box.setObjectName("pass_speed")
        for s in SPEEDS:
            self.speed_box.addItem(f"{fmt(s)} step/s" if s <= 1 else f"{fmt(s)} steps/s", s)
        self.speed_box.setCurrentIndex(SPEEDS.index(DEFAULT_SPEED))
        self.speed_box.setToolTip("Play speed: steps per second")
        self.speed_box.currentIndexChanged.connect(
            lambda i: self.set_speed(self.speed_box.itemData(i)))

    def actions(self) -> list[QAction]:
        return [self.act_forward, self.act_backward, self.act_play, self.act_pause,
                self.act_reset]

    def _update_actions(self) -> None:
        playing = self.timer.isActive()
        self.act_play.setEnabled(not playing)
        self.act_pause.setEnabled(playing)
        self.act_reset.setEnabled(self.pass_ is not None)

    # ------------------------------------------------------------------- state
    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    @property
    def step(self):
        """The current engine.passes.Step, or None (no pass, or the pass is complete)."""
        p = self.pass_
        return p.step(self.index) if p is not None and 0 <= self.index < len(p) else None

    def narration(self) -> str:
        """What happens at this step, as the narration shows it."""
        s = self.step
        return s.text if s is not None else self.message

    def history(self) -> list[str]:
        """The narrations of this pass so far, the current one last."""
        p = self.pass_
        if p is None:
            return []
        done = [p.step(i).text for i in range(min(self.index + 1, len(p)))]
        return done + ([self.message] if self.index >= len(p) else [])

    def title(self) -> str:
        p = self.pass_
        if p is None:
            return "No pass running"
        name = {FORWARD: "Forward pass", BACKWARD: "Backward pass"}.get(
            p.direction, "Forward-mode pass")
        if self.index >= len(p):
            which = sample_caption(self.doc.result)
            return f"{name} complete" + (f" · {which}" if which else "")
        node = display_name(self.doc.graph, p.step(self.index).node)
        which = sample_caption(self.doc.result)
        return f"{name} · step {self.index + 1} of {len(p)} · {node}" + \
            (f" · {which}" if which else "")

    # --------------------------------------------------------------- commands
    def step_forward(self) -> None:
        self._step(FORWARD)

    def step_backward(self) -> None:
        self._step(BACKWARD)

    def _step(self, direction: str) -> None:
        p = self.pass_
        if p is None or p.direction != direction or self.index >= len(p):
            self._start(direction)
        else:
            self.index += 1
            self._show()

    def step_tangent(self) -> None:
        self._step(TANGENT)

    def _start(self, direction: str) -> bool:
        """Begin a pass over the document as it is now, at its first step."""
        r = self.doc.result
        if direction == TANGENT:
            seed = self.tangent_seed() if self.tangent_seed is not None else None
            if seed is None:
                self._end("Nothing to step: forward mode needs an input, a param or a "
                          "data leaf to differentiate with respect to.")
                return False
            p = TangentPass(self.doc.graph, self.doc.result, seed)
        else:
            p = Pass(self.doc.graph, r, direction)
        if len(p) == 0:
            self._end("Nothing to step: " + (
                "the graph is empty." if len(self.doc.graph) == 0 else
                f"{r.output_error}." if r.output_error else "no output."))
            return False
        self.pass_, self.index = p, 0
        self._show()
        return True

    def play(self) -> None:
        p = self.pass_
        if p is None or (p.direction == BACKWARD and self.index >= len(p)):
            if not self._start(FORWARD):
                return
        self.timer.start(round(1000 / self.speed))
        self._update_actions()

    def pause(self) -> None:
        self.timer.stop()
        self._update_actions()

    def set_speed(self, steps_per_second: float) -> None:
        self.speed = float(steps_per_second)
        if self.timer.isActive():
            self.timer.setInterval(round(1000 / self.speed))
        i = self.speed_box.findData(self.speed)
        if i >= 0 and i != self.speed_box.currentIndex():
            self.speed_box.setCurrentIndex(i)

    def _tick(self) -> None:
        if progress.busy():  # a file is being opened or laid out: next tick
            return
        p = self.pass_
        if p is None:
            self.pause()
        elif self.index < len(p):
            self.index += 1
            self._show()
            if p.direction != FORWARD and self.index >= len(p):
                self.pause()
        elif p.direction == FORWARD:
            if not self._start(BACKWARD):
                self.pause()
        else:
            self.pause()

    def reset(self) -> None:
        """End the pass: every number shows again."""
        self._end(HINT)

    def _end(self, message: str) -> None:
        self.timer.stop()
        self.pass_, self.index, self.message = None, -1, message
        if self.scene is not None:
            self.scene.set_pass_mask(None)
            self.scene.clear_highlight(CHANNEL)
        self._update_actions()
        self.changed.emit()

    def _sample_changed(self) -> None:
        if self.pass_ is not None:
            self._end("Another sample is shown, so the pass ended: start it again to step "
                      "through this sample's numbers.")

    def _graph_edited(self, *_args) -> None:
        if self.pass_ is not None:
            self._end("The graph changed, so the pass ended: every number is shown again.")

    # ---------------------------------------------------------------- display
    def _show(self) -> None:
        p = self.pass_
        done = self.index >= len(p)
        if done:
            self.message = _summary(self.doc.graph, p)
        if self.scene is not None:
            self.scene.set_pass_mask(p.mask(self.index))
            s = self.step
            if s is None:
                self.scene.clear_highlight(CHANNEL)
            else:
                self.scene.set_highlight(CHANNEL, [s.node], s.edges)
                item = self.scene.nodes.get(s.node)
                for view in self.scene.views():  # big graphs: keep the current node in sight
                    if item is not None:
                        view.ensureVisible(item, 40, 40)
        self._update_actions()
        self.changed.emit()


def _summary(graph, p: Pass) -> str:
    r = p.result
    if p.direction == TANGENT:
        out, seed = r.output, display_name(graph, p.seed)
        got = p.tangents.output_tangent
        if out is None or got is None:
            return f"Forward-mode pass complete: every node's derivative with respect to {seed}."
        return (f"Forward-mode pass complete: ∂{display_name(graph, out)}/∂{seed} = {fmt(got)}, "
                f"one entry of the gradient. Each other leaf needs a pass of its own; the "
                "backward pass found them all in one sweep.")
    if p.direction == FORWARD:
        out = r.output
        got = (f"{display_name(graph, out)} = {fmt(r.nodes[out].value)}" if out is not None
               else "every value is known")
        return (f"Forward pass complete: {got}. Now step the backward pass (Ctrl+Left) to "
                "see how each node moves it.")
    leaves = [n for n in r.backward_order if graph.op_of(n) == "param"] or \
             [n for n in r.backward_order if graph.nx.in_degree(n) == 0]
    grads = ",  ".join(f"{grad_symbol(graph, r, n)} = {fmt(r.nodes[n].grad)}"
                       for n in sorted(leaves, key=lambda n: display_name(graph, n)))
    return ("Backward pass complete: every gradient is known" + (f":  {grads}" if grads else "")
            + ". One sweep back through the graph found them all.")


class NarrationView(QWidget):
    """The pass so far: one paragraph per step, the current one bold and marked."""

    def __init__(self, stepper: Stepper, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stepper = stepper
        self.header = QLabel()
        self.header.setObjectName("narration_title")
        f = self.header.font()
        f.setBold(True)
        self.header.setFont(f)
        self.text = QTextBrowser()
        self.text.setObjectName("narration")
        self.text.setOpenLinks(False)
        # the current step (a heading and a line per input edge) fits without scrolling
        self.text.setMinimumHeight(round(self.text.fontMetrics().lineSpacing() * 5.5))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(3)
        lay.addWidget(self.header)
        lay.addWidget(self.text)
        stepper.changed.connect(self.refresh)
        self.refresh()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(640, 200)  # room for the current step's three or four lines

    def plain_text(self) -> str:
        """Everything the panel shows, one step per paragraph."""
        return self.text.toPlainText().replace("\xa0", " ")

    def current_text(self) -> str:
        """The last (current) paragraph, its lines joined by newlines."""
        block = self.text.document().lastBlock().text()
        return block.replace("\u2028", "\n").replace("\xa0", " ")

    def refresh(self) -> None:
        st = self.stepper
        self.header.setText(st.title())
        pal = self.palette()
        muted = pal.color(QPalette.PlaceholderText).name()
        mark = pal.color(QPalette.Highlight)
        mark.setAlpha(45)
        bg = f"rgba({mark.red()},{mark.green()},{mark.blue()},{mark.alpha()})"
        items = st.history() or [st.message]
        parts = []
        for i, text in enumerate(items):
            current = i == len(items) - 1
            body = "<br>&nbsp;&nbsp;&nbsp;&nbsp;".join(
                html.escape(t).replace("  ", "&nbsp; ") for t in text.split(";  "))
            num = f"{i + 1}. " if st.pass_ is not None and i < len(st.pass_) else ""
            style = (f"font-weight:600; background-color:{bg};" if current and st.pass_
                     else f"color:{muted};" if st.pass_ else "")
            parts.append(f'<p style="margin:2px 0 6px 0; {style}">{num}{body}</p>')
        self.text.setHtml("".join(parts))
        sb = self.text.verticalScrollBar()
        sb.setValue(sb.maximum())
