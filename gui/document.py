"""The editor's model: one graph, its current evaluation, and the undo stack.

Everything the canvas and the docks show comes from here, and every edit goes
through here as a QUndoCommand, so undo, the modified marker and the numbers
on screen can never disagree. The document never computes a derivative: after
each change it asks the engine for a fresh Result — through ``engine.live``, which
recompiles only when the topology changed and otherwise updates incrementally,
giving the reference evaluation's numbers bit for bit. ``changes`` then says which
nodes and edges have new numbers (None: assume all), so the canvas repaints only those.
"""

from __future__ import annotations

import math
import os
import stat
from typing import Any, Iterable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

import engine
from engine.graph import Graph, default_stem
from engine.layout import layout
from engine.live import Changes, LiveEvaluation
from engine.names import unique_name
from engine.ops import OPS

Pos = tuple[float, float]
#: why a person's NaN or ∞ is refused as a leaf value (training may still reach one)
NOT_FINITE = "a value must be a finite number"


class Document(QObject):
    """The open graph. Read ``graph`` and ``result`` freely; change them only via the edit API."""

    nodeAdded = Signal(str)
    nodeRemoved = Signal(str)
    nodeChanged = Signal(str)
    nodeMoved = Signal(str)
    edgeAdded = Signal(str, str, str)
    edgeRemoved = Signal(str, str, str)
    outputChanged = Signal()
    resultsChanged = Signal()
    graphReset = Signal()
    fileChanged = Signal()
    #: True before and False after an edit that touches most of a large graph at once
    #: (auto-layout), so views can pause their per-item bookkeeping meanwhile
    bulkEdit = Signal(bool)
    #: the dataset was attached, replaced or detached
    datasetChanged = Signal()
    #: another sample (or the batch means) is shown: numbers changed, nothing was edited
    sampleChanged = Signal()
    #: a quiz started or ended: the side panels withhold the numbers it asks for
    withheldChanged = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.graph: Graph = Graph()
        self.live = LiveEvaluation()
        #: kinds of change since the last refresh: "structure", "names", "moves";
        #: leaf ids whose value changed are in ``_dirty_values``
        self._dirty: set[str] = set()
        self._dirty_values: set[str] = set()
        self.result: engine.Result
        #: what the last refresh changed (None: anything may have)
        self.changes: Changes | None = None
        self.result, self.changes = self.live.structure(self.graph)
        self.undo_stack = QUndoStack(self)
        self.path: str | None = None
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self._withheld: dict[str, str] = {}

    # ------------------------------------------------------------------ state
    def withhold(self, owner: str, reason: str | None) -> None:
        """While a quiz asks for numbers (Quiz mode, a lesson's task), the panels beside
        the canvas (inspector, derivation) must not give them away: ``owner`` says why
        (``reason``), or that it no longer does (None). Not an edit."""
        before = self.withheld
        if reason:
            self._withheld[owner] = reason
        else:
            self._withheld.pop(owner, None)
        if self.withheld != before:
            self.withheldChanged.emit()

    @property
    def withheld(self) -> str:
        """Why numbers are withheld right now ("" when they are not)."""
        return next(iter(self._withheld.values()), "")

    def _on_clean_changed(self, _clean: bool) -> None:
        self.fileChanged.emit()

    def is_modified(self) -> bool:
        return not self.undo_stack.isClean()

    def refresh(self) -> None:
        """Re-evaluate after a change; every number on screen comes from this Result.

        The primitive changes below record what kind of edit happened; a refresh with
        nothing recorded (the graph changed some other way) recompiles, to be safe."""
        self.result, self.changes = self._evaluate()
        self.resultsChanged.emit()

    def _evaluate(self) -> tuple[engine.Result, Changes | None]:
        dirty, values = self._dirty, self._dirty_values
        self._dirty, self._dirty_values = set(), set()
        live = self.live
        if "structure" in dirty or not (dirty or values):
            return live.structure(self.graph)
        if values:
            values = [nid for nid in values if nid in self.graph]
            result, changes = live.values(self.graph, values)
            if "names" in dirty:
                return live.names(self.graph)[0], None
            return result, changes
        if "names" in dirty:
            return live.names(self.graph)
        return self.result, Changes(frozenset(), frozenset())  # moves only

    # ------------------------------------------------------------- edit API
    def _push(self, cmd: Any) -> None:
        self.undo_stack.push(cmd)

    def add_node(self, op: str, pos: Pos, name: str | None = None, value: float = 0.0) -> str:
        """Add a node (``Add mul1``); returns its new id."""
        from gui.commands import AddNode
        if op not in OPS:
            raise KeyError(f"unknown op {op!r}")
        if name is None:
            name = unique_name(default_stem(op), self.graph.names())
        else:
            self.graph._check_name(name)
        nid = self.graph.new_id()
        self._push(AddNode(self, nid, op, name, float(value), pos))
        return nid

    def delete(self, ids: Iterable[str]) -> None:
        """Remove nodes and every edge touching them, as one undo step."""
        from gui.commands import DeleteNodes
        ids = [i for i in dict.fromkeys(ids) if i in self.graph]
        if ids:
            self._push(DeleteNodes(self, ids))

    def move(self, moves: dict[str, tuple[Pos, Pos]]) -> None:
        """Record a finished drag: {id: (old_pos, new_pos)}."""
        from gui.commands import MoveNodes
        moves = {k: (tuple(map(float, o)), tuple(map(float, n)))
                 for k, (o, n) in moves.items() if k in self.graph}
        if any(o != n for o, n in moves.values()):
            self._push(MoveNodes(self, moves))

    def connect_error(self, src: str, dst: str, port: str) -> str | None:
        err = self.graph.connect_error(src, dst, port)
        return None if err is None else str(err).strip("'\"")

    def can_connect(self, src: str, dst: str, port: str) -> bool:
        return self.graph.connect_error(src, dst, port) is None

    def connect(self, src: str, dst: str, port: str) -> str | None:
        """Connect src → dst.port, or return why not (and push nothing)."""
        from gui.commands import Connect
        why = self.connect_error(src, dst, port)
        if why is None:
            self._push(Connect(self, src, dst, port))
        return why

    def disconnect(self, dst: str, port: str) -> None:
        from gui.commands import Disconnect
        src = self.graph.source_of(dst, port)
        if src is not None:
            self._push(Disconnect(self, src, dst, port))

    def reconnect(self, dst: str, port: str, new_dst: str, new_port: str) -> str | None:
        """Move an edge's input end to another port; refusal reason or None."""
        from gui.commands import Reconnect
        src = self.graph.source_of(dst, port)
        if src is None:
            return f"port {port!r} is not connected"
        if (dst, port) == (new_dst, new_port):
            return None
        trial = self.graph.copy()
        trial.disconnect(dst, port)
        err = trial.connect_error(src, new_dst, new_port)
        if err is not None:
            return str(err).strip("'\"")
        self._push(Reconnect(self, src, dst, port, new_dst, new_port))
        return None

    def rename(self, nid: str, name: str) -> str | None:
        """Rename a node, or return why the name is refused."""
        from gui.commands import Rename
        if name == self.graph.name_of(nid):
            return None
        try:
            self.graph._check_name(name, nid)
        except engine.EngineError as e:
            return str(e)
        except Exception as e:  # InvalidNameError is an EngineError; be safe anyway
            return str(e)
        self._push(Rename(self, nid, name))
        return None

    def set_value(self, nid: str, value: float, merge_id: int | None = None) -> None:
        """Set a leaf's value; pushes with the same merge_id collapse into one undo step."""
        from gui.commands import SetValue
        if not OPS[self.graph.op_of(nid)].is_leaf:
            raise ValueError("only input, param and const nodes hold a value")
        value = float(value)
        if not math.isfinite(value):  # the editor's policy: a typed value is a number
            raise ValueError(NOT_FINITE)
        old = self.graph.node(nid).value
        if merge_id is None and _same(old, value):
            return
        self._push(SetValue(self, nid, old, value, merge_id))

    def set_values(self, values: dict[str, float], text: str) -> bool:
        """Set several leaves at once (e.g. "Train step") as one undo step; False if nothing changed."""
        from gui.commands import SetValues
        changes = {}
        for nid, value in values.items():
            if not OPS[self.graph.op_of(nid)].is_leaf:
                raise ValueError("only input, param and const nodes hold a value")
            old = self.graph.node(nid).value
            if not _same(old, float(value)):
                changes[nid] = (old, float(value))
        if not changes:
            return False
        self._push(SetValues(self, changes, text))
        return True

    # ---------------------------------------------------------------- data
    def set_dataset(self, ds, text: str | None = None) -> None:
        """Attach (or with None detach) a dataset, as one undo step."""
        from gui.commands import SetDataset
        old = self.graph.dataset
        if ds is old:
            return
        if text is None:
            text = (f"Attach dataset {ds.name}" if ds is not None and old is None else
                    f"Replace dataset with {ds.name}" if ds is not None else "Detach dataset")
        self._push(SetDataset(self, old, ds, text))

    def bind(self, nid: str, column: str) -> None:
        """Bind a data leaf to a column (one undo step)."""
        from gui.commands import Bind
        old = self.graph.column_of(nid)
        if old != column:
            self._push(Bind(self, nid, old, column))

    def add_data_leaf(self, column: str, pos: Pos) -> str:
        """A data leaf bound to ``column``, named after it (one undo step)."""
        from gui.commands import AddNode
        name = column if column not in self.graph.names() and _valid(column) else \
            unique_name(column if _valid(column) else "x", self.graph.names())
        nid = self.graph.new_id()
        self._push(AddNode(self, nid, "data", name, 0.0, pos, column=column))
        return nid

    def pick_sample(self, sample: int | None = None, means: bool | None = None) -> None:
        """Show another sample's numbers, or the batch means: not an edit (no undo step,
        the document stays unmodified)."""
        if self.live.batch is None:
            return
        self.result, self.changes = self.live.pick(self.graph, sample, means)
        self.sampleChanged.emit()
        self.resultsChanged.emit()

    def set_kind(self, nid: str, op: str) -> None:
        from gui.commands import SetKind
        old = self.graph.op_of(nid)
        if old == op:
            return
        if not (OPS[op].is_leaf and OPS[old].is_leaf):
            raise ValueError("only leaves can switch kind, and only to another leaf kind")
        self._push(SetKind(self, nid, old, op))

    def set_attr(self, nid: str, attr: str, value: float) -> bool:
        """Change one of an op node's fixed numbers (a power node's exponent) as one undo
        step; False when it already has that value. Refuses a number that is not finite."""
        from gui.commands import SetAttr
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"the {attr} must be a finite number")
        old = self.graph.attrs_of(nid)[attr]
        if old == value:
            return False
        self._push(SetAttr(self, nid, attr, old, value))
        return True

    def set_output(self, nid: str | None) -> None:
        from gui.commands import SetOutput
        if nid == self.graph.output:
            return
        if nid is not None and nid not in self.graph:
            raise KeyError(nid)
        self._push(SetOutput(self, self.graph.output, nid))

    def copy_data(self, ids: Iterable[str]) -> dict:
        """The selection and the edges inside it, in the file format (for the clipboard)."""
        from engine import fileformat
        ids = [i for i in ids if i in self.graph]
        return fileformat.to_dict(self.graph, ids)

    def paste(self, data: dict, offset: Pos) -> list[str]:
        """Add a copied fragment with fresh ids and names; returns the new ids."""
        from engine import fileformat
        from gui.commands import Paste
        fresh = fileformat.prepare_paste(self.graph, data, offset)
        cmd = Paste(self, fresh)
        if not cmd.node_ids:
            return []
        self._push(cmd)
        return list(cmd.node_ids)

    def insert_graph(self, source: Graph, ids: Iterable[str], text: str,
                     output: str | None = None) -> list[str]:
        """Add nodes that were built on ``self.graph.copy()`` (fresh ids, free names), the
        edges among them and, when given, mark ``output``: one undo step. Returns the ids."""
        from gui.commands import InsertGraph
        ids = list(dict.fromkeys(ids))
        for nid in ids:
            if nid in self.graph:
                raise ValueError(f"node id {nid!r} is already in the document")
            self.graph._check_name(source.name_of(nid))  # InvalidNameError if taken
        if not ids:
            return []
        self._push(InsertGraph(self, source, ids, text, output))
        return ids

    def auto_layout(self) -> None:
        """Left-to-right layout by generation, anchored at the current top-left corner."""
        from gui.commands import MoveNodes
        if len(self.graph) == 0:
            return
        xs = [n.pos[0] for n in self.graph.nodes()]
        ys = [n.pos[1] for n in self.graph.nodes()]
        new = layout(self.graph, (min(xs), min(ys)))
        moves = {nid: (self.graph.node(nid).pos, p) for nid, p in new.items()}
        if any(o != n for o, n in moves.values()):
            self._push(MoveNodes(self, moves, text="Auto-layout"))

    def replace_graph(self, graph: Graph, text: str) -> None:
        """Swap in another graph (e.g. built from an expression) as one undo step."""
        from gui.commands import ReplaceGraph
        self._push(ReplaceGraph(self, graph, text))

    # ------------------------------------------------------------------ files
    def _reset(self, graph: Graph, path: str | None) -> None:
        """Replace the document with ``graph``. The new graph is compiled and evaluated
        first, on its own LiveEvaluation: if that fails (a graph the engine cannot take,
        MemoryError...) the exception leaves graph, path, result and undo stack as they were."""
        live = LiveEvaluation()
        result, changes = live.structure(graph)
        self.undo_stack.clear()
        self.graph = graph
        self.path = path
        self.live = live
        self.undo_stack.setClean()
        self._dirty, self._dirty_values = set(), set()
        self.result, self.changes = result, changes
        self.graphReset.emit()
        self.outputChanged.emit()
        self.resultsChanged.emit()
        self.fileChanged.emit()

    def load_graph(self, graph: Graph, path: str | None = None) -> None:
        """Show a ready-made graph (example, render, test) as a fresh, unmodified document."""
        self._reset(graph, path)

    def new(self) -> None:
        self._reset(Graph(), None)

    def open(self, path: str) -> None:
        """Load a file. Anything that goes wrong (GraphFileError, OSError, a graph the
        engine cannot evaluate) raises before the document changes; a FIFO or a device is
        refused before it is read, so opening one cannot block the editor."""
        from engine import fileformat
        check_regular_file(path)
        graph = fileformat.load(path)
        self._reset(graph, str(path))

    def recover(self, graph: Graph, path: str | None) -> None:
        """Show an autosaved copy of a document that was not closed normally: it belongs
        to ``path`` but is not saved there yet, so it opens modified, with no undo history."""
        self._reset(graph, path)
        self.undo_stack.resetClean()

    def save(self, path: str | None = None) -> None:
        """Write the file atomically; if that raises (OSError, a value the format cannot
        hold...), nothing changes: the path stays and the document stays modified."""
        from engine import fileformat
        target = path or self.path
        if not target:
            raise OSError("no file name given")
        fileformat.save(self.graph, target)
        self.path = str(target)
        self.undo_stack.setClean()
        self.fileChanged.emit()

    # ------------------------------------------ primitive changes (commands only)
    # Each emits the fine-grained signal; the command calls refresh() once at the end.
    def _add(self, nid: str, op: str, name: str, value: float, pos: Pos,
             attrs: dict[str, float] | None = None, column: str | None = None) -> None:
        self.graph.add_node(op, name=name, value=value, pos=pos, id=nid, attrs=attrs,
                            column=column)
        self._dirty.add("structure")
        self.nodeAdded.emit(nid)

    def _remove(self, nid: str) -> None:
        was_output = self.graph.output == nid
        self.graph.remove_node(nid)
        self._dirty.add("structure")
        self.nodeRemoved.emit(nid)
        if was_output:
            self.outputChanged.emit()

    def _connect(self, src: str, dst: str, port: str) -> None:
        self.graph.connect(src, dst, port)
        self._dirty.add("structure")
        self.edgeAdded.emit(src, dst, port)

    def _disconnect(self, dst: str, port: str) -> None:
        src = self.graph.disconnect(dst, port)
        self._dirty.add("structure")
        self.edgeRemoved.emit(src, dst, port)

    def _set_pos(self, nid: str, pos: Pos) -> None:
        self.graph.set_pos(nid, pos)
        self._dirty.add("moves")
        self.nodeMoved.emit(nid)

    def _rename(self, nid: str, name: str) -> None:
        self.graph.rename(nid, name)
        self._dirty.add("names")
        self.nodeChanged.emit(nid)

    def _set_value(self, nid: str, value: float) -> None:
        self.graph.set_value(nid, value)
        self._dirty_values.add(nid)
        self.nodeChanged.emit(nid)

    def _set_kind(self, nid: str, op: str) -> None:
        old = self.graph.op_of(nid)
        self.graph.set_kind(nid, op)
        # a constant has no gradient, nor has what is computed from constants alone; a
        # data leaf reads its column: both change what the plan computes
        self._dirty.add("structure" if {"const", "data"} & {old, op} else "names")
        self.nodeChanged.emit(nid)

    def _set_attr(self, nid: str, attr: str, value: float) -> None:
        self.graph.set_attr(nid, attr, value)
        self._dirty.add("structure")  # the plan holds attributes (the edge label too)
        self.nodeChanged.emit(nid)

    def _set_output(self, nid: str | None) -> None:
        self.graph.set_output(nid)
        self._dirty.add("structure")
        self.outputChanged.emit()

    def _set_dataset(self, ds) -> None:
        self.graph.dataset = ds
        self._dirty.add("structure")
        self.datasetChanged.emit()

    def _bind(self, nid: str, column: str | None) -> None:
        if column is None:
            self.graph.nx.nodes[nid].pop("column", None)
        else:
            self.graph.bind(nid, column)
        self._dirty.add("structure")
        self.nodeChanged.emit(nid)


def _valid(name: str) -> bool:
    from engine.graph import RESERVED
    from engine.names import is_valid_name
    return is_valid_name(name) and name not in RESERVED


def check_regular_file(path: str | os.PathLike) -> None:
    """Raise GraphFileError unless ``path`` is a regular file: reading a FIFO waits for a
    writer and a device may never end, so neither is read at all."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # missing, unreadable...: the loader says so in its own words
    if stat.S_ISREG(mode):
        return
    kind = ("a folder" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a special file")
    raise engine.GraphFileError(str(path), "$", f"is {kind}, not a graph file")


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)
