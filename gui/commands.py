"""One QUndoCommand per kind of edit. Commands change only the Document's model.

Each top-level command re-evaluates once after redo/undo (``doc.refresh()``);
composite edits (delete, paste, insert, re-route, replace) are a parent command whose
sub-commands each undo one primitive change, so undo replays them in reverse.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from PySide6.QtGui import QUndoCommand

from engine.graph import Graph
from engine.names import pretty
from engine.numfmt import fmt
from engine.ops import OPS
from gui import progress

if TYPE_CHECKING:
    from gui.document import Document, Pos

#: QUndoCommand.id() of value edits that may merge (slider drags)
SET_VALUE_ID = 1001


class _Command(QUndoCommand):
    """Base: sub-commands run first on redo and last (reversed) on undo; re-evaluate once.

    Sub-commands are owned by their parent in Python, not as Qt children: PySide's
    garbage collection of Qt-parented Python commands is not safe.
    """

    def __init__(self, doc: "Document", text: str = "", parent: "_Command | None" = None) -> None:
        super().__init__(text)
        self.doc = doc
        self.top = parent is None
        self.kids: list[_Command] = []

    def child(self, cmd: "_Command") -> "_Command":
        self.kids.append(cmd)
        return cmd

    def apply(self) -> None:
        """The change itself (sub-commands run before it)."""

    def revert(self) -> None:
        """Undo the change itself (sub-commands are undone after it)."""

    def redo(self) -> None:
        for k in self.kids:
            k.redo()
        self.apply()
        if self.top:
            self.doc.refresh()

    def undo(self) -> None:
        self.revert()
        for k in reversed(self.kids):
            k.undo()
        if self.top:
            self.doc.refresh()


def _name(doc: "Document", nid: str) -> str:
    return pretty(doc.graph.name_of(nid))


# ------------------------------------------------------------------ primitives
class AddNode(_Command):
    def __init__(self, doc: "Document", nid: str, op: str, name: str, value: float, pos: "Pos",
                 parent: "_Command | None" = None,
                 attrs: dict[str, float] | None = None, column: str | None = None) -> None:
        super().__init__(doc, f"Add {pretty(name)}", parent)
        self.nid, self.op, self.name, self.value = nid, op, name, float(value)
        self.pos = (float(pos[0]), float(pos[1]))
        self.attrs = dict(attrs or {})
        self.column = column

    def apply(self) -> None:
        self.doc._add(self.nid, self.op, self.name, self.value, self.pos, self.attrs,
                      self.column)

    def revert(self) -> None:
        self.doc._remove(self.nid)


class RemoveNode(_Command):
    """Removes one node whose edges are already gone; restores it (and the output mark)."""

    def __init__(self, doc: "Document", nid: str, parent: "_Command | None" = None) -> None:
        super().__init__(doc, f"Delete {_name(doc, nid)}", parent)
        n = doc.graph.node(nid)
        self.nid, self.op, self.name, self.value, self.pos = n.id, n.op, n.name, n.value, n.pos
        self.attrs, self.column = n.attrs, n.column
        self.was_output = False

    def apply(self) -> None:
        self.was_output = self.doc.graph.output == self.nid
        self.doc._remove(self.nid)

    def revert(self) -> None:
        self.doc._add(self.nid, self.op, self.name, self.value, self.pos, self.attrs,
                      self.column)
        if self.was_output:
            self.doc._set_output(self.nid)


class Connect(_Command):
    def __init__(self, doc: "Document", src: str, dst: str, port: str,
                 parent: "_Command | None" = None) -> None:
        super().__init__(doc, f"Connect {_name(doc, src)} → {_name(doc, dst)}", parent)
        self.src, self.dst, self.port = src, dst, port

    def apply(self) -> None:
        self.doc._connect(self.src, self.dst, self.port)

    def revert(self) -> None:
        self.doc._disconnect(self.dst, self.port)


class Disconnect(_Command):
    def __init__(self, doc: "Document", src: str, dst: str, port: str,
                 parent: "_Command | None" = None) -> None:
        super().__init__(doc, f"Disconnect {_name(doc, src)} → {_name(doc, dst)}", parent)
        self.src, self.dst, self.port = src, dst, port

    def apply(self) -> None:
        self.doc._disconnect(self.dst, self.port)

    def revert(self) -> None:
        self.doc._connect(self.src, self.dst, self.port)


class SetOutput(_Command):
    def __init__(self, doc: "Document", old: str | None, new: str | None,
                 parent: "_Command | None" = None) -> None:
        text = f"Mark {_name(doc, new)} as output" if new is not None else "Clear output mark"
        super().__init__(doc, text, parent)
        self.old, self.new = old, new

    def apply(self) -> None:
        self.doc._set_output(self.new)

    def revert(self) -> None:
        self.doc._set_output(self.old)


# ------------------------------------------------------------------ edits
class DeleteNodes(_Command):
    """Delete nodes: child commands remove every touching edge first, then the nodes."""

    def __init__(self, doc: "Document", ids: list[str]) -> None:
        text = f"Delete {_name(doc, ids[0])}" if len(ids) == 1 else f"Delete {len(ids)} nodes"
        super().__init__(doc, text)
        g = doc.graph
        chosen = set(ids)
        edges = [e for e in g.edges() if e[0] in chosen or e[1] in chosen]
        for src, dst, port in edges:
            self.child(Disconnect(doc, src, dst, port, self))
        for nid in ids:
            self.child(RemoveNode(doc, nid, self))


#: moving this many nodes at once (auto-layout, its undo) is done as one bulk edit
BULK_MOVES = 1000


class MoveNodes(_Command):
    def __init__(self, doc: "Document", moves: dict[str, tuple["Pos", "Pos"]],
                 text: str | None = None) -> None:
        if text is None:
            text = (f"Move {_name(doc, next(iter(moves)))}" if len(moves) == 1
                    else f"Move {len(moves)} nodes")
        super().__init__(doc, text)
        self.moves = dict(moves)

    def apply(self) -> None:
        self._place(1)

    def revert(self) -> None:
        self._place(0)

    def _place(self, which: int) -> None:
        total = len(self.moves)
        bulk = total >= BULK_MOVES
        if bulk:
            self.doc.bulkEdit.emit(True)
        try:
            for k, (nid, both) in enumerate(self.moves.items(), 1):
                self.doc._set_pos(nid, both[which])
                if not k & 255:
                    progress.step(k, total, "Moving the nodes…")
        finally:
            if bulk:
                self.doc.bulkEdit.emit(False)


class Reconnect(_Command):
    """Re-route an edge's input end: one step made of a disconnect and a connect."""

    def __init__(self, doc: "Document", src: str, dst: str, port: str,
                 new_dst: str, new_port: str) -> None:
        super().__init__(doc, f"Reconnect {_name(doc, src)} → {_name(doc, new_dst)}")
        self.child(Disconnect(doc, src, dst, port, self))
        self.child(Connect(doc, src, new_dst, new_port, self))


class Rename(_Command):
    def __init__(self, doc: "Document", nid: str, name: str) -> None:
        old = doc.graph.name_of(nid)
        super().__init__(doc, f"Rename {pretty(old)} to {pretty(name)}")
        self.nid, self.old, self.new = nid, old, name

    def apply(self) -> None:
        self.doc._rename(self.nid, self.new)

    def revert(self) -> None:
        self.doc._rename(self.nid, self.old)


class SetValue(_Command):
    """A leaf's value; consecutive pushes with the same merge_id become one step."""

    def __init__(self, doc: "Document", nid: str, old: float, new: float,
                 merge_id: int | None = None) -> None:
        super().__init__(doc)
        self.nid, self.old, self.new, self.merge_id = nid, float(old), float(new), merge_id
        self._retext()

    def _retext(self) -> None:
        self.setText(f"Set {_name(self.doc, self.nid)} = {fmt(self.new, 6)}")

    def id(self) -> int:  # noqa: A003 - Qt's name
        return SET_VALUE_ID if self.merge_id is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetValue) or other.merge_id is None:
            return False
        if other.merge_id != self.merge_id or other.nid != self.nid:
            return False
        self.new = other.new
        self._retext()
        return True

    def apply(self) -> None:
        self.doc._set_value(self.nid, self.new)

    def revert(self) -> None:
        self.doc._set_value(self.nid, self.old)


class SetValues(_Command):
    """Several leaf values at once (a training step or run): one undo step."""

    def __init__(self, doc: "Document", values: dict[str, tuple[float, float]], text: str) -> None:
        super().__init__(doc, text)
        self.values = {nid: (float(o), float(n)) for nid, (o, n) in values.items()}

    def apply(self) -> None:
        for nid, (_, new) in self.values.items():
            self.doc._set_value(nid, new)

    def revert(self) -> None:
        for nid, (old, _) in self.values.items():
            self.doc._set_value(nid, old)


class SetAttr(_Command):
    """One of an op node's fixed numbers (the exponent of a power node)."""

    def __init__(self, doc: "Document", nid: str, attr: str, old: float, new: float) -> None:
        super().__init__(doc, f"Set {attr} of {_name(doc, nid)} to {fmt(new)}")
        self.nid, self.attr, self.old, self.new = nid, attr, float(old), float(new)

    def apply(self) -> None:
        self.doc._set_attr(self.nid, self.attr, self.new)

    def revert(self) -> None:
        self.doc._set_attr(self.nid, self.attr, self.old)


class SetKind(_Command):
    def __init__(self, doc: "Document", nid: str, old: str, new: str) -> None:
        super().__init__(doc, f"Make {_name(doc, nid)} {OPS[new].title.lower()}")
        self.nid, self.old, self.new = nid, old, new

    def apply(self) -> None:
        self.doc._set_kind(self.nid, self.new)

    def revert(self) -> None:
        self.doc._set_kind(self.nid, self.old)


def fragment_nodes(data: dict) -> list[dict]:
    """Node records of a file-format dict (as ``prepare_paste`` makes it): id, name, op,
    value, pos and the op's attributes."""
    out = []
    for n in data.get("nodes", []):
        pos = n.get("pos", (0.0, 0.0))
        out.append(dict(id=n["id"], name=n["name"], op=n["op"],
                        value=float(n.get("value", 0.0)),
                        pos=(float(pos[0]), float(pos[1])),
                        attrs={a: float(n[a]) for a in OPS[n["op"]].attr_names},
                        column=n.get("column")))
    return out


def fragment_edges(data: dict) -> list[tuple[str, str, str]]:
    """(source, target, port) triples of a file-format dict."""
    return [(e["source"], e["target"], e["port"]) for e in data.get("edges", [])]


class Paste(_Command):
    """Add a prepared fragment (fresh ids and names): nodes, then the edges inside it."""

    def __init__(self, doc: "Document", data: dict) -> None:
        super().__init__(doc)
        nodes = fragment_nodes(data)
        self.node_ids = [n["id"] for n in nodes]
        n = len(nodes)
        self.setText(f"Paste {pretty(nodes[0]['name'])}" if n == 1 else f"Paste {n} nodes")
        for rec in nodes:
            self.child(AddNode(doc, rec["id"], rec["op"], rec["name"], rec["value"], rec["pos"],
                               self, rec["attrs"], rec.get("column")))
        self.edges = fragment_edges(data)

    def apply(self) -> None:
        # edges are added here, after the children added their nodes; names exist only then
        for src, dst, port in self.edges:
            self.doc._connect(src, dst, port)

    def revert(self) -> None:
        for src, dst, port in reversed(self.edges):
            self.doc._disconnect(dst, port)


class InsertGraph(_Command):
    """Add nodes built on a copy of the document's graph (so their ids and names are
    free in it), the edges among them, and mark a new output: one undo step
    (Insert › Network…). Data leaves keep their columns."""

    def __init__(self, doc: "Document", source: Graph, ids: list[str], text: str,
                 output: str | None = None) -> None:
        super().__init__(doc, text)
        self.node_ids = list(ids)
        chosen = set(self.node_ids)
        # the new output is added first, so undo removes it last: views that read the
        # Result while the others go (the inspector, as the selection shrinks) still find
        # the output it names
        order = sorted(self.node_ids, key=lambda n: n != output)
        for nid in order:
            n = source.node(nid)
            self.child(AddNode(doc, nid, n.op, n.name, n.value, n.pos, self, n.attrs,
                               source.column_of(nid)))
        self.edges = [e for e in source.edges() if e[0] in chosen and e[1] in chosen]
        self.old_output, self.new_output = doc.graph.output, output

    def apply(self) -> None:
        for src, dst, port in self.edges:
            self.doc._connect(src, dst, port)
        if self.new_output is not None:
            self.doc._set_output(self.new_output)

    def revert(self) -> None:
        if self.new_output is not None:
            self.doc._set_output(self.old_output)
        for src, dst, port in reversed(self.edges):
            self.doc._disconnect(dst, port)

    # many nodes at once: a bulk edit, so a sum given 30 inputs is re-drawn once, not 30
    # times; the numbers are refreshed after it, as for MoveNodes
    def redo(self) -> None:
        total = len(self.kids)
        with _bulk(self.doc, total >= BULK_NODES):
            for i, k in enumerate(self.kids, 1):
                k.redo()
                if not i & 255:
                    progress.step(i, total, "Adding the nodes…")
            self.apply()
        self.doc.refresh()

    def undo(self) -> None:
        with _bulk(self.doc, len(self.node_ids) >= BULK_NODES):
            self.revert()
            for k in reversed(self.kids):
                k.undo()
        self.doc.refresh()


#: adding or removing this many nodes at once (InsertGraph) is done as one bulk edit
BULK_NODES = 200


@contextmanager
def _bulk(doc: "Document", on: bool) -> Iterator[None]:
    if on:
        doc.bulkEdit.emit(True)
    try:
        yield
    finally:
        if on:
            doc.bulkEdit.emit(False)


class _EmptyResult(_Command):
    """Between removing one graph and adding the other the document is empty; its Result
    must say so too, or views syncing the added nodes would look up the old output."""

    def apply(self) -> None:
        import engine
        self.doc.result = engine.evaluate(self.doc.graph, allow_no_output=True)

    revert = apply


class ReplaceGraph(_Command):
    """Replace every node and edge with another graph's (e.g. from an expression)."""

    def __init__(self, doc: "Document", graph: Graph, text: str) -> None:
        label = text.strip().splitlines()[0] if text.strip() else "graph"
        if len(label) > 40:
            label = label[:39] + "…"
        super().__init__(doc, f"Replace with {label}")
        old = doc.graph
        self.old_output, self.new_output = old.output, graph.output
        self.old_note, self.new_note = old.note, graph.note
        for src, dst, port in old.edges():
            self.child(Disconnect(doc, src, dst, port, self))
        for nid in old.ids():
            self.child(RemoveNode(doc, nid, self))
        self.child(_EmptyResult(doc, parent=self))
        for n in graph.nodes():
            self.child(AddNode(doc, n.id, n.op, n.name, n.value, n.pos, self, n.attrs, n.column))
        self.new_edges = graph.edges()

    def apply(self) -> None:
        for src, dst, port in self.new_edges:
            self.doc._connect(src, dst, port)
        self.doc.graph.note = self.new_note
        if self.new_output is not None:
            self.doc._set_output(self.new_output)

    def revert(self) -> None:
        if self.new_output is not None:
            self.doc._set_output(None)
        self.doc.graph.note = self.old_note
        for src, dst, port in reversed(self.new_edges):
            self.doc._disconnect(dst, port)


class SetDataset(_Command):
    """Attach, replace or detach the document's dataset (immutable: kept whole)."""

    def __init__(self, doc: "Document", old, new, text: str) -> None:
        super().__init__(doc, text)
        self.old, self.new = old, new

    def apply(self) -> None:
        self.doc._set_dataset(self.new)

    def revert(self) -> None:
        self.doc._set_dataset(self.old)


class Bind(_Command):
    """Bind a data leaf to another column."""

    def __init__(self, doc: "Document", nid: str, old: str | None, new: str) -> None:
        super().__init__(doc, f"Bind {_name(doc, nid)} to column {new}")
        self.nid, self.old, self.new = nid, old, new

    def apply(self) -> None:
        self.doc._bind(self.nid, self.new)

    def revert(self) -> None:
        self.doc._bind(self.nid, self.old)


__all__ = [
    "AddNode", "RemoveNode", "Connect", "Disconnect", "SetOutput", "DeleteNodes", "MoveNodes",
    "Reconnect", "Rename", "SetValue", "SetValues", "SetKind", "SetAttr", "Paste", "InsertGraph",
    "ReplaceGraph", "SET_VALUE_ID", "SetDataset", "Bind",
    "fragment_nodes", "fragment_edges",
]
