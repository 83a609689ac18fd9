"""Forward mode in the editor: which leaf is the direction, and the tangents it gives.

The ForwardMode object holds the direction (a leaf id, or None when forward mode is
off), asks the engine (``engine.forward.tangents``) for the tangents of the Result on
screen after every change, and hands them to the canvas, which draws them beside the
reverse-mode numbers. The direction can be picked from the toolbar's list, from
Passes › Forward Mode… or from a leaf's context menu. It is a view, not an edit: no
undo step, the document stays unmodified.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QInputDialog, QWidget

from engine.forward import Tangents, tangents, variable_leaves
from engine.labels import display_name

OFF_TEXT = "Forward mode: off"


class ForwardMode(QObject):
    """The direction leaf and its tangents; ``changed`` after either moves."""

    changed = Signal()

    def __init__(self, document, scene, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.scene = scene
        self.direction: str | None = None
        self.tangents: Tangents | None = None
        #: why forward mode shows nothing although it is on ("" when it shows)
        self.unavailable = ""
        self.box = QComboBox()
        self.box.setObjectName("forward_direction")
        self.box.setToolTip("Forward mode: pick the leaf to differentiate with respect to; "
                            "every node then shows its tangent ẋ = ∂x/∂(leaf)")
        self.box.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.box.activated.connect(lambda i: self.set_direction(self.box.itemData(i)))
        self.act_choose = QAction("Forward &Mode…", parent or self)
        self.act_choose.setToolTip("Differentiate forward from one leaf: every node shows "
                                   "its tangent, beside the backward pass's gradients")
        self.act_choose.triggered.connect(lambda _c=False: self.choose())
        self.act_off = QAction("Forward Mode &Off", parent or self)
        self.act_off.triggered.connect(lambda _c=False: self.set_direction(None))
        d = document
        d.resultsChanged.connect(self.refresh)
        d.graphReset.connect(self.refresh)
        for sig in (d.nodeAdded, d.nodeRemoved, d.nodeChanged):
            sig.connect(self._fill_box)
        self._fill_box()

    # ---------------------------------------------------------------- choosing
    def leaves(self) -> list[str]:
        """The leaves forward mode can start from, in the engine's order."""
        return variable_leaves(self.doc.graph, self.doc.result)

    def default_leaf(self) -> str | None:
        """The first param (what training differentiates with respect to), else the
        first leaf."""
        g = self.doc.graph
        leaves = self.leaves()
        return next((n for n in leaves if g.op_of(n) == "param"), leaves[0] if leaves else None)

    def choose(self, parent: QWidget | None = None) -> None:
        """Passes › Forward Mode…: pick the direction from a list of leaves."""
        leaves = self.leaves()
        if not leaves:
            self.unavailable = "no input, param or data leaf to differentiate with respect to"
            self.changed.emit()
            return
        names = [display_name(self.doc.graph, n) for n in leaves]
        current = leaves.index(self.direction) if self.direction in leaves else \
            leaves.index(self.default_leaf())
        name, ok = QInputDialog.getItem(parent or self.box.window(), "Forward mode",
                                        "Differentiate forward from the leaf:", names,
                                        current, False)
        if ok and name in names:
            self.set_direction(leaves[names.index(name)])

    def set_direction(self, nid: str | None) -> None:
        """Forward mode from leaf ``nid``; None turns it off (the normal view)."""
        if nid is not None and nid not in self.leaves():
            nid = None
        self.direction = nid
        self.refresh()

    # ----------------------------------------------------------------- numbers
    def refresh(self) -> None:
        """Tangents of the Result on screen (after an edit, a new sample, a new file)."""
        doc = self.doc
        if self.direction is not None and self.direction not in self.leaves():
            self.direction = None  # the leaf was deleted, or is no longer a leaf
        self.tangents, self.unavailable = None, ""
        if self.direction is not None:
            b = doc.result.batch
            if b is not None and b.sample is None:
                self.unavailable = ("the canvas shows the batch means: pick one sample to "
                                    "see its tangents")
            else:
                self.tangents = tangents(doc.graph, doc.result, self.direction)
        if self.scene is not None:
            self.scene.set_tangents(self.tangents)
        self._fill_box()
        self.act_off.setEnabled(self.direction is not None)
        self.changed.emit()

    def _fill_box(self, *_args) -> None:
        g = self.doc.graph
        items = [(OFF_TEXT, None)] + [(f"Forward from {display_name(g, n)}", n)
                                      for n in self.leaves() if n in g]
        have = [(self.box.itemText(i), self.box.itemData(i)) for i in range(self.box.count())]
        self.box.blockSignals(True)
        if have != items:
            self.box.clear()
            for text, nid in items:
                self.box.addItem(text, nid)
        i = self.box.findData(self.direction) if self.direction is not None else 0
        self.box.setCurrentIndex(max(0, i))
        self.box.blockSignals(False)

    def actions(self) -> list[QAction]:
        return [self.act_choose, self.act_off]
