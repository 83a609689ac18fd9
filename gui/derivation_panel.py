"""The Derivation dock: ∂L/∂w for the selected node, written out path by path.

Everything it shows comes from engine.derivation (which takes its numbers from the
document's Result), so the panel can never disagree with the canvas. Each factor is
a link: hovering it lights its edge on the canvas (channel "derivation"), hovering a
path's heading lights the whole path, and a click keeps the highlight until the next
click or selection.
"""

from __future__ import annotations

import html
import math
import time

from PySide6.QtCore import QEvent, QRect, QTimer, QUrl, Qt, Signal
from PySide6.QtGui import QAction, QColor, QPalette, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QMenu,
    QTextBrowser,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.derivation import (
    BACKPROP_NOTE,
    IS_CONSTANT,
    IS_OUTPUT,
    NO_OUTPUT,
    NO_PATH,
    Derivation,
    RENDERERS,
    PathTerm,
    chain_rows,
    derive,
    headline,
    group_lines,
    more_line,
    rounding_note,
    route,
    sum_line,
)
from engine.numfmt import fmt, full
from engine.labels import sample_caption

CHANNEL = "derivation"
MATH_FONTS = "'DejaVu Serif', 'Cambria Math', 'Cambria', 'STIX Two Text', 'Times New Roman', serif"
HINT_NONE = ("Select a node on the canvas to read ∂L/∂(node) written out as by hand: "
             "for each path to the output, the chain of local derivatives — symbols, "
             "formulas, numbers — and their sum.")
HINT_MANY = "Select a single node to read its derivation ({n} are selected)."
EdgeKey = tuple[str, str, str]


class DerivationPanel(QWidget):
    """Shows the derivation of the selected node; emits ``highlightChanged`` when the
    canvas highlight it asks for changes (nodes, edges)."""

    highlightChanged = Signal(object, object)

    def __init__(self, document, canvas=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.canvas = canvas
        self.node: str | None = None
        self._selection: list[str] = []
        self.derivation: Derivation | None = None
        self._hover: str = ""
        self._pinned: str = ""
        self._pinned_edges: set[EdgeKey] = set()
        self._shaded: set[str] = set()
        self._spans: dict[str, list[tuple[int, int]]] = {}
        self._page = ""
        self._lit: tuple[set[str], set[EdgeKey]] = (set(), set())
        self._dirty = True

        self.browser = QTextBrowser(self)
        self.browser.setObjectName("derivation_text")
        self.browser.setOpenLinks(False)
        self.browser.setOpenExternalLinks(False)
        self.browser.setLineWrapMode(QTextBrowser.WidgetWidth)
        self.browser.document().setDocumentMargin(10)
        self.browser.anchorClicked.connect(self._on_clicked)
        self.browser.highlighted.connect(self._on_hovered)
        self.browser.setContextMenuPolicy(Qt.CustomContextMenu)
        self.browser.customContextMenuRequested.connect(self._context_menu)

        self.browser.viewport().installEventFilter(self)

        self.act_copy_text = self._copy_action("Copy as plain text", "text")
        self.act_copy_markdown = self._copy_action("Copy as Markdown", "markdown")
        self.act_copy_latex = self._copy_action("Copy as LaTeX", "latex")
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 0)
        bar.setSpacing(4)
        self.copy_buttons: list[QToolButton] = []
        for act, short in ((self.act_copy_text, "Text"), (self.act_copy_markdown, "Markdown"),
                           (self.act_copy_latex, "LaTeX")):
            b = QToolButton(self)
            b.setText(short)
            b.setToolTip(act.text())
            b.setAutoRaise(True)
            b.clicked.connect(act.trigger)
            act.changed.connect(lambda b=b, a=act: b.setEnabled(a.isEnabled()))
            self.copy_buttons.append(b)
        bar.addWidget(QLabel("Copy as:"))
        for b in self.copy_buttons:
            bar.addWidget(b)
        bar.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(bar)
        lay.addWidget(self.browser, 1)

        # a slider drag changes values many times a second; on a large graph deriving
        # and re-rendering costs tens of ms, so value-only changes are coalesced and
        # throttled (the canvas follows the mouse, the panel catches up)
        self._cost = 0.0
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.timeout.connect(self.refresh)
        document.resultsChanged.connect(self._on_results)
        document.withheldChanged.connect(self.refresh)
        document.graphReset.connect(lambda: self.set_selection([]))
        self.refresh()

    # ------------------------------------------------------------------ public API
    def set_selection(self, ids: list[str]) -> None:
        """Follow the canvas selection (canvas.selectionChangedIds)."""
        ids = list(ids)
        node = ids[0] if len(ids) == 1 else None
        if node != self.node:
            self._pinned = self._hover = ""
        self._selection, self.node = ids, node
        # after the event that changed the selection: the inspector and the canvas
        # answer the click first, and a click's deselect-then-select derives once
        if not self._later.isActive() or self._later.interval() > 0:
            self._later.start(0)

    def _on_results(self) -> None:
        if self.document.changes is None or not self.isVisible():
            self.refresh()  # structure changed: the shown node or its paths may be gone
        elif not self._later.isActive():
            # cheap refreshes follow at once; a costly one leaves the event loop ~2/3 free
            self._later.start(0 if self._cost < 0.008 else min(250, int(self._cost * 2000)))

    def flush(self) -> None:
        """Apply a refresh that is waiting for the throttle, now."""
        if self._later.isActive():
            self._later.stop()
            self.refresh()

    def refresh(self) -> None:
        """Recompute from the document's current Result (skipped while hidden)."""
        self._later.stop()
        if not self.isVisible():
            self._dirty = True
            return
        self._dirty = False
        started = time.perf_counter()
        try:
            self._refresh()
        finally:
            self._cost = time.perf_counter() - started

    def _refresh(self) -> None:
        g, r = self.document.graph, self.document.result
        if self.node is not None and self.node not in g:
            self.node, self._selection = None, []
            self._pinned = self._hover = ""
        self.derivation = derive(g, r, self.node) if self.node is not None else None
        if self._pinned and self.target(self._pinned)[1] != self._pinned_edges:
            self._pinned = ""  # an edit changed what the kept link stood for
        for act in (self.act_copy_text, self.act_copy_markdown, self.act_copy_latex):
            act.setEnabled(self.derivation is not None and not self.document.withheld)
        page = self._html()
        if page != self._page:  # moves and unrelated edits leave the text as it is
            self._page = page
            bar = self.browser.verticalScrollBar()
            keep = bar.value()
            self.browser.setHtml(page)
            bar.setValue(keep)
            self._index_anchors()
            if self._shaded:
                self._shaded = set()
                self.browser.setExtraSelections([])
        self._apply_highlight()

    def text(self) -> str:
        """What the panel reads right now, as plain text."""
        self.flush()
        return self.browser.toPlainText()

    def copy(self, style: str) -> str:
        """Put the derivation on the clipboard as "text", "markdown" or "latex"; returns it."""
        self.flush()
        if self.derivation is None:
            return ""
        out = RENDERERS[style](self.derivation)
        QApplication.clipboard().setText(out)
        return out

    def anchors(self) -> list[str]:
        """The link targets in the shown text, in reading order (``f:path:factor``, ``p:path``)."""
        self.flush()
        return list(self._spans)

    def anchor_rect(self, href: str) -> QRect | None:
        """Where the first piece of text linked to ``href`` is drawn (viewport coordinates)."""
        spans = self._spans.get(href)
        if not spans:
            return None
        start, end = spans[0]
        c = QTextCursor(self.browser.document())
        c.setPosition(start)
        left = self.browser.cursorRect(c)
        c.setPosition(end)
        return left.united(self.browser.cursorRect(c))

    def _index_anchors(self) -> None:
        """One pass over the text: where each link's pieces are (for hover tints and tests)."""
        spans: dict[str, list[tuple[int, int]]] = {}
        block = self.browser.document().begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                frag = it.fragment()
                href = frag.charFormat().anchorHref()
                if href:
                    spans.setdefault(href, []).append(
                        (frag.position(), frag.position() + frag.length()))
                it += 1
            block = block.next()
        self._spans = spans

    def target(self, href: str) -> tuple[set[str], set[EdgeKey]]:
        """Nodes and edges a link stands for: a factor's edge, or a whole path."""
        d = self.derivation
        if d is None or not href:
            return set(), set()
        kind, _, rest = href.partition(":")
        try:
            idx = [int(x) for x in rest.split(":")]
            term = d.paths[idx[0]]
            if kind == "f":
                e = term.factors[idx[1]].edge
                return {e[0], e[1]}, {e}
            if kind == "p":
                return set(term.nodes), set(term.edges)
        except (ValueError, IndexError):
            pass
        return set(), set()

    # ------------------------------------------------------------------ events
    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._dirty:
            self.refresh()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().hideEvent(event)
        self._hover = ""
        self._set_canvas_highlight(set(), set())

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        # the mouse can leave the text straight from a link: drop the hover highlight
        if event.type() == QEvent.Leave and self._hover:
            self._on_hovered("")
        return super().eventFilter(watched, event)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.PaletteChange and self.isVisible():
            self.refresh()

    # ------------------------------------------------------------------ links
    def _on_hovered(self, url: QUrl | str) -> None:
        self._hover = url.toString() if isinstance(url, QUrl) else str(url)
        self._apply_highlight()

    def _on_clicked(self, url: QUrl) -> None:
        href = url.toString()
        self._pinned = "" if href == self._pinned else href
        self._pinned_edges = self.target(self._pinned)[1]
        self._apply_highlight()

    def _apply_highlight(self) -> None:
        href = self._hover or self._pinned
        nodes, edges = self.target(href)
        self._shade(href)
        self._set_canvas_highlight(nodes, edges)

    def _set_canvas_highlight(self, nodes: set[str], edges: set[EdgeKey]) -> None:
        if (nodes, edges) == self._lit:
            return  # set_highlight visits every item: skip it when nothing changes
        self._lit = (nodes, edges)
        scene = self.canvas.scene() if self.canvas is not None else None
        if scene is not None:
            if nodes or edges:
                scene.set_highlight(CHANNEL, nodes, edges)
            else:
                scene.clear_highlight(CHANNEL)
        self.highlightChanged.emit(nodes, edges)

    def _shade(self, href: str) -> None:
        """Tint the hovered factor (in all three rows) or every factor of a hovered path.

        Extra selections, not edits of the text: hovering costs no relayout."""
        want: set[str] = set()
        if href.startswith("f:"):
            want = {href}
        elif href.startswith("p:"):
            prefix = "f:" + href[2:] + ":"
            want = {h for h in self._spans if h.startswith(prefix)} | {href}
        if want == self._shaded:
            return
        self._shaded = want
        tint = QColor(self.palette().color(QPalette.Highlight))
        tint.setAlpha(55)
        doc = self.browser.document()
        selections = []
        for h in want:
            for start, end in self._spans.get(h, ()):
                sel = QTextEdit.ExtraSelection()
                c = QTextCursor(doc)
                c.setPosition(start)
                c.setPosition(end, QTextCursor.KeepAnchor)
                sel.cursor = c
                f = QTextCharFormat()
                f.setBackground(tint)
                sel.format = f
                selections.append(sel)
        self.browser.setExtraSelections(selections)

    # ------------------------------------------------------------------ copy
    def _copy_action(self, text: str, style: str) -> QAction:
        act = QAction(text, self)
        act.setStatusTip(f"{text}: the derivation shown here")
        act.triggered.connect(lambda _c=False, s=style: self.copy(s))
        return act

    def _context_menu(self, pos) -> None:
        menu: QMenu = self.browser.createStandardContextMenu(pos)
        menu.addSeparator()
        menu.addActions([self.act_copy_text, self.act_copy_markdown, self.act_copy_latex])
        menu.exec(self.browser.viewport().mapToGlobal(pos))

    # ------------------------------------------------------------------ HTML
    def _colors(self) -> dict[str, str]:
        pal = self.palette()
        text = pal.color(QPalette.Text)
        mix = QColor.fromRgbF(*(0.55 * a + 0.45 * b for a, b in zip(
            text.getRgbF()[:3], pal.color(QPalette.Base).getRgbF()[:3])))
        return {"text": text.name(), "muted": mix.name(), "link": pal.color(QPalette.Link).name(),
                "warn": pal.color(QPalette.BrightText).name()}

    def _html(self) -> str:
        c = self._colors()
        css = (f"<style>body {{ color: {c['text']}; }} "
               f"a {{ color: {c['link']}; text-decoration: none; }} "
               f".m {{ font-family: {MATH_FONTS}; font-size: 12.5pt; }} "
               f".head {{ font-family: {MATH_FONTS}; font-size: 15pt; }} "
               f".muted {{ color: {c['muted']}; }} .warn {{ color: {c['warn']}; }} "
               f"td {{ padding: 1px 3px; }}</style>")
        if self.node is None:
            hint = HINT_MANY.format(n=len(self._selection)) if self._selection else HINT_NONE
            return f"{css}<p class='muted'>{_esc(hint)}</p>"
        if self.document.withheld:  # the derivation would give a quiz's answers away
            return (f"{css}<p class='muted'>{_esc('The derivation is hidden — ')}"
                    f"{_esc(self.document.withheld)}.</p>")
        d = self.derivation
        assert d is not None
        parts = [css]
        which = sample_caption(self.document.result)
        if which:
            parts.append(f"<p class='muted'>{_esc(which[0].upper() + which[1:])}: the "
                         "numbers below are this sample's own chain rule</p>")
        if d.kind in (NO_OUTPUT, IS_CONSTANT):
            head = d.symbol if d.kind == NO_OUTPUT else f"{d.wrt}: no gradient"
            parts.append(f"<p class='head'>{_esc(head)}</p>")
            parts.append(f"<p class='warn'>{_esc(headline(d))}</p>")
            return "".join(parts)
        value = "1" if d.kind == IS_OUTPUT else "0" if d.kind == NO_PATH else fmt(d.total)
        parts.append(f"<p class='head'>{_esc(d.symbol)} = {_esc(value)}</p>")
        parts.append(f"<p class='muted'>{_esc(headline(d))}</p>")
        if d.kind in (IS_OUTPUT, NO_PATH):
            return "".join(parts)
        for k, term in enumerate(d.paths):
            title = "Path" if d.path_count == 1 else f"Path {k + 1}"
            parts.append(f"<p style='margin-top: 10px; margin-bottom: 2px'>"
                         f"<a href='p:{k}'><b>{title}:</b> <span class='m'>"
                         f"{_esc(route(d, term))}</span></a></p>")
            parts.append(self._chain_table(d, term, k))
        if d.more:
            parts.append(f"<p class='muted'>{_esc(more_line(d))}</p>")
            groups = group_lines(d)
            if groups:
                parts.append(f"<p style='margin-top: 10px; margin-bottom: 2px'>"
                             f"<b>{_esc(groups[0])}</b></p>")
                parts += [f"<p class='m' style='margin: 1px 0'>{_esc(line)}</p>"
                          for line in groups[1:]]
        s = sum_line(d)
        if s:
            parts.append(f"<p class='m' style='margin-top: 10px'>{_esc(d.symbol)} = "
                         f"{_esc(s)}</p>")
        parts.append(f"<p class='muted' style='margin-top: 10px'><i>{_esc(BACKPROP_NOTE)}:"
                     f"</i> <span class='m'>{_esc(d.symbol)} = {_esc(fmt(d.total))}</span></p>")
        note = rounding_note(d)
        if note:
            parts.append(f"<p class='muted'>{_esc(note)}</p>")
        for n in d.notes:
            parts.append(f"<p class='warn'>⚠ {_esc(n)}</p>")
        return "".join(parts)

    def _chain_table(self, d: Derivation, term: PathTerm, k: int) -> str:
        first = _esc(d.symbol) if d.path_count == 1 else ""
        rows = chain_rows(term, lhs=d.symbol if first else "")
        out = ["<table cellspacing='0' cellpadding='1' class='m'>"]
        for j, row in enumerate(rows):
            cells = []
            for text, i in row:
                t = _esc(text)
                if i is not None:
                    f = term.factors[i]
                    cls = " class='warn'" if not math.isfinite(f.value) else ""
                    t = f"<a href='f:{k}:{i}' title='{_esc(_factor_tip(d, f))}'{cls}>{t}</a>"
                cells.append(t)
            lhs = first if j == 0 else ""
            eq = "=" if (j > 0 or first) else ""
            out.append(f"<tr><td align='right'>{lhs}</td><td>{eq}</td>"
                       f"<td>{''.join(cells)}</td></tr>")
        out.append("</table>")
        return "".join(out)


def _factor_tip(d: Derivation, f) -> str:
    """The whole local derivative at full precision, and the edge it lives on."""
    src, dst, _port = f.edge
    lines = [f"{f.symbol} = {f.formula} = {full(f.value)}" if f.formula != fmt(f.value)
             else f"{f.symbol} = {full(f.value)}",
             f"The local derivative on the edge {d.names.get(src, src)} → "
             f"{d.names.get(dst, dst)}" + (f", port {f.port_tag}" if f.port_tag else ""),
             "Click to keep the edge lit on the canvas."]
    if f.reason:
        lines.insert(1, f.reason)
    return "\n".join(lines)


def _esc(s: str) -> str:
    return html.escape(s, quote=True)
