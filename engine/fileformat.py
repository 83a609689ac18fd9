"""Graph files, format version 2: JSON that diffs well and is checked before it is used.

Version 2 is version 1 plus ``data`` leaves (bound to a dataset column) and an optional
dataset, inline or in a CSV file beside the graph. Version 1 files load exactly as
before (validated against ``graph-v1.schema.json``, the same messages), and the writer
writes the lowest version that holds the graph: a graph without data leaves or a
dataset is still written as version 1, byte for byte as before, and opens in older
releases.

Loading validates against the file's version's schema and then against the registry
and the graph rules, and raises one error type, GraphFileError, whose message names the
file, the JSON path and the problem (quoting at most 80 characters of the file). What
it returns is complete: every id, name, port and number is one the editor, the fast
engine and the writer accept, so a loaded graph can always be evaluated and saved.
Anything a graph holds can be written: NaN and ±inf leaf values as the strings "nan",
"inf" and "-inf". Saving is atomic (``engine.files``): a failed save leaves the old
file (and the CSV file beside it) byte-identical. See docs/file-format.md.
"""

from __future__ import annotations

import json
import keyword
import math
import os
import re
import stat
import weakref
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import networkx as nx
import numpy as np

if TYPE_CHECKING:  # imported when a file needs the full validator (a tenth of a second)
    import jsonschema

from engine.dataset import DataError, Dataset
from engine.errors import EngineError, GraphFileError, InvalidValueError, clip, quote
from engine.files import (MAX_FILE_BYTES, UnreadableFileError, read_file, resolve_target,
                          write_atomic, write_atomic_all)
from engine.gc_pause import paused_gc
from engine.graph import RESERVED, Graph, is_canonical_id
from engine.layout import layout
from engine.names import MAX_NAME, is_valid_name, repair_text, unique_name
from engine.ops import OPS

FORMAT = "chain-rule-studio"
#: the newest version this program reads and writes (it reads every older one too)
VERSION = 2
#: each version's schema: a file is validated against the one of the version it says
SCHEMA_PATHS = {1: Path(__file__).with_name("graph-v1.schema.json"),
                2: Path(__file__).with_name("graph-v2.schema.json")}
#: version 1's schema, under its old name (what a graph without data is written as)
SCHEMA_PATH = SCHEMA_PATHS[1]
#: how a leaf value that is not a finite number is written (JSON has no NaN or ∞)
NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
#: the most rows ``save`` writes inline; a larger dataset goes to a CSV file beside the
#: graph (the loader reads inline columns of any length: ``dumps`` without a folder,
#: as the editor's autosave uses it, always writes them inline)
MAX_INLINE_ROWS = 10_000
#: ``save(graph, "g.json")`` writes a dataset too large to inline to ``g.data.csv``
CSV_SUFFIX = ".data.csv"


@lru_cache(maxsize=2)
def _validator(version: int = 1) -> "jsonschema.protocols.Validator":
    import jsonschema
    schema = json.loads(SCHEMA_PATHS[version].read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def _json_path(parts: Iterable[Any]) -> str:
    out = "$"
    for p in parts:  # a key from the file (a dataset column) is cut like _key_path cuts it
        out += f"[{p}]" if isinstance(p, int) else f".{clip(str(p), 40)}"
    return out


class _NonFinite:
    """Stands in for a NaN/Infinity literal until its JSON path is known."""

    def __init__(self, literal: str) -> None:
        self.literal = literal


class _Duplicated(dict):
    """A JSON object that named a key twice (``json`` would keep the last silently);
    stands in until the object's JSON path is known."""

    key: str = ""


def _object(pairs: list[tuple[str, Any]]) -> dict:
    d = dict(pairs)
    if len(d) == len(pairs):
        return d
    seen: set[str] = set()
    dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
    out = _Duplicated(d)
    out.key = dup
    return out


def _key_path(p: str, k: str) -> str:
    return f"{p}.{clip(k, 40)}"


def _any_problem(obj: Any) -> bool:
    """Whether ``_find_problem`` would find anything: one pass without building paths
    (the common case is a file with nothing wrong)."""
    stack = [obj]
    while stack:
        o = stack.pop()
        t = type(o)
        if t is dict:
            stack.extend(o.values())
        elif t is list:
            stack.extend(o)
        elif t is float:
            if not math.isfinite(o):
                return True
        elif t is int:
            if o.bit_length() > 1000:
                return True
        elif t is _NonFinite or t is _Duplicated:
            return True
    return False


def _find_problem(obj: Any, path: str = "$") -> tuple[str, str] | None:
    """The first (JSON path, problem) of what ``json`` accepts but a graph file must not
    hold: NaN/Infinity literals, numbers beyond a float, keys given twice."""
    if not _any_problem(obj):
        return None
    stack = [(obj, path)]
    while stack:
        o, p = stack.pop()
        if isinstance(o, _NonFinite):
            return p, f"not a finite number ({o.literal})"
        if isinstance(o, float) and not math.isfinite(o):
            return p, "not a finite number (too large)"
        if isinstance(o, int) and not isinstance(o, bool) and o.bit_length() > 1000:
            return p, "not a finite number (a number too large for a float)"
        if isinstance(o, dict):
            if isinstance(o, _Duplicated):
                return _key_path(p, o.key), f"the key {quote(o.key)} is given twice"
            stack.extend((v, _key_path(p, k)) for k, v in reversed(list(o.items())))
        elif isinstance(o, list):
            stack.extend((v, f"{p}[{i}]") for i, v in reversed(list(enumerate(o))))
    return None


def _finite_number(x: Any) -> bool:
    return type(x) in (int, float) and (type(x) is int and x.bit_length() <= 1000
                                        or type(x) is float and math.isfinite(x))


# --------------------------------------------------------------------- writing

def _num(x: float) -> float | int:
    if x == 0 and math.copysign(1.0, x) < 0:
        return float(x)
    return int(x) if float(x).is_integer() and abs(x) < 1e15 else float(x)


def _value(x: float) -> float | str:
    """A leaf value as written: the float, or "nan" / "inf" / "-inf" (training and
    faults can leave a leaf there, and the editor must still be able to save)."""
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _coord(x: float) -> float | int:
    """A position coordinate as written; a non-finite one (no meaning on a canvas) is 0,
    so a position can never stop a save."""
    return _num(round(x, 2)) if math.isfinite(x) else 0


def _column_out(graph: Graph, nid: str) -> str:
    """A data leaf's column as written: lone surrogates repaired (as a note's are); one
    the loader would refuse is refused here, before anything is written."""
    col = repair_text(graph.column_of(nid) or "")
    if not 1 <= len(col) <= MAX_NAME:
        raise ValueError(f"{graph.name_of(nid)} is bound to the column {quote(col)}: a "
                         f"column name is 1 to {MAX_NAME} characters")
    return col


def _column_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a dataset column (None: it can). Columns are named as
    nodes are, as a CSV header must be: so an expression can use them."""
    if not is_valid_name(name):
        return (f"{quote(name)} is not a valid column name: use letters, digits and _, "
                "not starting with a digit")
    if name in RESERVED:
        return f"{quote(name)} is the name of an op: a column is named as a node is"
    return None


def _file_name(path: str) -> str:
    """The last part of a path, whichever separator it uses."""
    return PureWindowsPath(path).name or path


def _origin_out(origin: Mapping[str, Any], inline: bool) -> dict[str, Any]:
    """What a file says of where a dataset came from: scalars only (numpy ones made
    plain, anything else left out: it is for people, never needed to load). A "csv"
    origin is written as the file's name alone inline (a path on this machine means
    nothing elsewhere) and not at all beside a CSV reference (the reference says it)."""
    out: dict[str, Any] = {}
    for k, v in origin.items():
        if not isinstance(k, str):
            continue
        if k == "csv":
            if not inline or not isinstance(v, str):
                continue
            v = _file_name(v)
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v) or \
                type(v) is int and v.bit_length() > 1000:  # what a file cannot hold
            continue
        if isinstance(v, str):
            v = repair_text(v)
        elif not (v is None or isinstance(v, (bool, int, float))):
            continue
        out[repair_text(k)] = v
    return out


def _dataset_out(ds: Dataset, csv: str | None) -> dict[str, Any]:
    """The ``dataset`` object: inline columns, or (``csv``) a reference to a CSV file."""
    for k in ds.columns:
        problem = _column_name_problem(k) if isinstance(k, str) else "not text"
        if problem is not None:
            raise ValueError(f"the dataset's column {quote(k)} cannot be saved: {problem}")
    out: dict[str, Any] = {"name": repair_text(str(ds.name))}
    if csv is not None:
        out["csv"] = csv
    origin = _origin_out(ds.origin, inline=csv is None)
    if origin:
        out["origin"] = origin
    out["test"] = np.flatnonzero(ds.test).tolist()
    if csv is None:
        out["columns"] = {k: _finite_column(k, a).tolist() for k, a in ds.columns.items()}
    return out


def _finite_column(name: str, a: np.ndarray) -> np.ndarray:
    bad = np.flatnonzero(~np.isfinite(a))
    if len(bad):
        raise ValueError(f"the dataset's column {quote(name)} cannot be saved: row "
                         f"{bad[0]} holds {a[bad[0]]}, not a finite number")
    return a


def to_dict(graph: Graph, ids: Iterable[str] | None = None, *, csv: str | None = None
            ) -> dict:
    """The file's content as plain data; with ``ids``, only those nodes and the edges
    between them (what the clipboard carries: never the dataset). The dataset is inline,
    or with ``csv`` a reference to that CSV file (relative to the graph file's folder,
    '/'-separated). The version is the lowest that holds it: 2 only for data leaves or
    a dataset."""
    node = graph.nx._node  # read directly: Graph.node() copies each node's dicts
    order = graph.ids()
    keep = set(order) if ids is None else set(ids)
    nodes = []
    has_data = False
    for nid in order:
        if nid not in keep:
            continue
        nd = node[nid]
        op = nd["op"]
        spec = OPS[op]
        d: dict[str, Any] = {"id": nid, "name": nd["name"], "op": op}
        if spec.is_leaf:
            d["value"] = _value(nd["value"])
            if op == "data":
                d["column"] = _column_out(graph, nid)
                has_data = True
        if spec.attrs:
            attrs = nd.get("attrs", {})
            for a in spec.attr_names:
                d[a] = _num(attrs.get(a, dict(spec.attrs)[a]))
        pos = nd["pos"]
        d["pos"] = [_coord(pos[0]), _coord(pos[1])]
        nodes.append(d)
    edges = [{"source": s, "target": t, "port": p} for s, t, p in graph.edges()
             if s in keep and t in keep]
    ds = graph.dataset if ids is None else None
    data: dict[str, Any] = {"format": FORMAT,
                            "version": 2 if has_data or ds is not None else 1}
    if graph.note:
        data["note"] = graph.note
    data["output"] = graph.output if graph.output in keep else None
    data["nodes"] = nodes
    data["edges"] = edges
    if ds is not None:
        data["dataset"] = _dataset_out(ds, csv)
    return data


#: one JSON value per line of a graph file: C-encoded, compact but spaced
_LINE = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(", ", ": "))


def dumps(graph: Graph, csv: str | None = None) -> str:
    """Stable text: fixed key order, one node or edge per line, ids in order; a dataset
    last, one column per line. Without ``csv`` the dataset is inline whatever its size
    (the text stands alone: what autosave needs); with it, the dataset refers to that
    CSV file, which the caller writes (``save`` does both)."""
    data = to_dict(graph) if csv is None else to_dict(graph, csv=csv)

    line = _LINE.encode  # one encoder for every line (json.dumps makes one per call)

    head = [f'  "format": {line(FORMAT)},', f'  "version": {data["version"]},']
    if "note" in data:
        head.append(f'  "note": {line(data["note"])},')
    head.append(f'  "output": {line(data["output"])},')
    nodes = ",\n".join("    " + line(n) for n in data["nodes"])
    edges = ",\n".join("    " + line(e) for e in data["edges"])
    body = "\n".join(head)
    body += '\n  "nodes": [\n' + nodes + ("\n  ],\n" if nodes else "  ],\n")
    end = ",\n" if "dataset" in data else "\n"
    body += '  "edges": [\n' + edges + ("\n  ]" if edges else "  ]") + end
    if "dataset" in data:
        ds = data["dataset"]
        parts = [f"    {line(k)}: {line(v)}" for k, v in ds.items() if k != "columns"]
        if "columns" in ds:
            cols = ",\n".join(f"      {line(k)}: {line(v)}" for k, v in ds["columns"].items())
            parts.append('    "columns": {\n' + cols + "\n    }")
        body += '  "dataset": {\n' + ",\n".join(parts) + "\n  }\n"
    return "{\n" + body + "}\n"


def csv_text(ds: Dataset) -> str:
    """A dataset's columns as CSV: a header of the column names, then one row per line,
    each number as Python's repr writes it (the shortest text that reads back bit for
    bit). The test rows are not in it: the graph file lists them."""
    names = list(ds.columns)
    for k in names:
        problem = _column_name_problem(k) if isinstance(k, str) else "not text"
        if problem is not None:
            raise ValueError(f"the dataset's column {quote(k)} cannot be saved: {problem}")
    cols = [_finite_column(k, ds.columns[k]).tolist() for k in names]
    rows = [",".join(map(repr, row)) for row in zip(*cols)]
    return "\n".join([",".join(names), *rows]) + "\n"


#: datasets known to equal a CSV file: dataset → (absolute path, mtime_ns, size) of the
#: file when that was last seen (read on load, written on save), so saving again does
#: not reread a large file that has not changed
_SAME_AS_FILE: "weakref.WeakKeyDictionary[Dataset, tuple[str, int, int]]" = \
    weakref.WeakKeyDictionary()


def _stamp(path: Path) -> tuple[str, int, int] | None:
    """(path, mtime_ns, size) of a regular file; None for anything else."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (str(path), st.st_mtime_ns, st.st_size) if stat.S_ISREG(st.st_mode) else None


def _remember(ds: Dataset, path: Path, before: tuple[str, int, int] | None = None) -> None:
    """Note that ``ds`` equals the CSV file ``path`` now (if it did not change since
    ``before``, its stamp when it was read)."""
    now = _stamp(path)
    if now is not None and (before is None or before == now):
        _SAME_AS_FILE[ds] = now


def _read_csv_file(path: Path) -> Dataset:
    """The dataset of a CSV file, read as graph files are (a regular file, bounded, never
    blocking); UnreadableFileError, UnicodeDecodeError or DataError say what is wrong."""
    from engine import datasets
    raw = read_file(path, MAX_FILE_BYTES)
    return datasets.read_csv(path, text=raw.decode("utf-8-sig"))


def _holds(ds: Dataset, path: Path) -> bool:
    """Whether the CSV file at ``path`` reads back as exactly ``ds``'s columns (names,
    order, every bit); the file is read only if it changed since it was last seen."""
    stamp = _stamp(path)
    if stamp is None:
        return False
    if _SAME_AS_FILE.get(ds) == stamp:
        return True
    try:
        other = _read_csv_file(path)
    except (EngineError, OSError, UnicodeDecodeError, ValueError):
        return False
    if list(other.columns) != list(ds.columns) or any(
            a.tobytes() != other.columns[k].tobytes() for k, a in ds.columns.items()):
        return False
    _remember(ds, path, stamp)
    return True


def _relative_ref(path: Path, folder: Path) -> str | None:
    """``path`` as a reference the loader accepts from a graph in ``folder``: relative,
    '/'-separated, in the folder or below it (None when it is not)."""
    try:
        rel = os.path.relpath(path, folder)
    except ValueError:  # another drive
        return None
    ref = Path(rel).as_posix()
    if "\\" in ref or _csv_ref_problem(ref) is not None:
        return None
    return ref


def dataset_file(graph: Graph, path: str | os.PathLike) -> tuple[str | None, Path | None]:
    """Where ``save(graph, path)`` keeps the dataset: (the reference written in the
    graph file, the CSV file save must write) — (None, None) for no dataset or inline
    columns. In order: an unchanged CSV file the dataset came from (its origin, or the
    last save) in the graph's folder or below is referred to, not copied; else up to
    MAX_INLINE_ROWS rows are inline; else ``<stem>.data.csv`` beside the graph."""
    ds = graph.dataset
    if ds is None:
        return None, None
    target = resolve_target(path)
    folder = Path(os.path.abspath(target.parent if str(target.parent) else "."))
    seen = _SAME_AS_FILE.get(ds)
    origin = ds.origin.get("csv")
    for cand in (seen[0] if seen else None, origin if isinstance(origin, str) else None):
        if not cand:
            continue
        p = Path(os.path.abspath(cand))
        ref = _relative_ref(p, folder)
        if ref is not None and _holds(ds, p):
            return ref, None
    if ds.n_rows <= MAX_INLINE_ROWS:
        return None, None
    csv_path = folder / (target.stem + CSV_SUFFIX)
    return csv_path.name, csv_path


def save(graph: Graph, path: str | os.PathLike) -> Path | None:
    """Write atomically (``engine.files.write_atomic``): temp file beside the target,
    flush + fsync, os.replace; through a symlink to its target. Any failure leaves the
    old file as it was and removes the temp file; OSError says why.

    A dataset is kept as ``dataset_file`` says; when that is a new CSV file
    (``<stem>.data.csv``, replaced if it exists), it is written with the graph, both
    temp files complete before either is renamed. Returns the CSV file written, or None."""
    ref, csv_path = dataset_file(graph, path)
    if ref is None:
        write_atomic(path, dumps(graph).encode("utf-8"))
        return None
    text = dumps(graph, csv=ref).encode("utf-8")
    if csv_path is None:
        write_atomic(path, text)
        return None
    ds = graph.dataset
    write_atomic_all([(csv_path, csv_text(ds).encode("utf-8")), (path, text)])
    _remember(ds, csv_path)
    return csv_path


# --------------------------------------------------------------------- reading

def loads(text: str | bytes, filename: str = "<string>",
          folder: str | os.PathLike | None = None) -> Graph:
    """Read and check graph file text. ``folder`` is where a dataset's CSV file is looked
    for (the graph file's folder); without it, a CSV reference is refused."""
    with paused_gc():  # a large file is a million small objects: see engine.gc_pause
        return _loads(text, filename, folder)


def _loads(text: str | bytes, filename: str, folder: str | os.PathLike | None) -> Graph:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise GraphFileError(filename, "$", f"not UTF-8 text (byte {e.start})") from None
    if not text.strip():
        raise GraphFileError(filename, "$", "the file is empty")
    try:
        data = json.loads(text, parse_constant=_NonFinite, object_pairs_hook=_object)
    except ValueError as e:
        if isinstance(e, json.JSONDecodeError):
            msg = e.msg[:-3] if e.msg.endswith(" at") else e.msg
            where = f"{msg} at line {e.lineno}, column {e.colno}"
            cut = e.pos >= len(text.rstrip()) or (
                msg.startswith("Unterminated string") and '"' not in text[e.pos + 1:])
            problem = (f"truncated: the JSON ends too early: {where}" if cut
                       else f"not valid JSON: {where}")
        else:
            problem = f"not valid JSON: {clip(str(e))}"
        raise GraphFileError(filename, "$", problem) from None
    except RecursionError:
        raise GraphFileError(filename, "$", "not valid JSON: nested too deeply") from None
    # A plainly valid file whose nodes build in bulk holds no NaN, no number beyond a
    # float and no repeated key (the bulk build checks every number it reads; the
    # schema types leave no other place for one but the dataset, walked here): the
    # walk over every parsed value is skipped. Anything else goes the careful way,
    # which finds and words the first problem in file order, as it always has.
    if type(data) is dict and not ("dataset" in data and _any_problem(data["dataset"])):
        try:
            return from_dict(data, filename, folder, plain=True)
        except _NotPlain:
            pass
    bad = _find_problem(data)
    if bad is not None:
        raise GraphFileError(filename, *bad)
    return from_dict(data, filename, folder)


def load(path: str | os.PathLike) -> Graph:
    """Read and check a graph file. Only regular files of at most MAX_FILE_BYTES are
    read (a FIFO or a device is refused at once, never waited on). A dataset's CSV file
    is looked for in the folder of the file (of a symlink's target: where save writes)."""
    name = str(path)
    try:
        raw = read_file(path, MAX_FILE_BYTES)
    except UnreadableFileError as e:
        raise GraphFileError(name, "", e.reason) from None
    target = resolve_target(path)
    return loads(raw, name, target.parent if str(target.parent) else Path("."))


_TOP_KEYS = frozenset({"format", "version", "note", "output", "nodes", "edges"})
_TOP_REQUIRED = frozenset({"format", "version", "output", "nodes", "edges"})
_NODE_KEYS = frozenset({"id", "name", "op", "value", "pos", "exponent"})
_EDGE_KEYS = frozenset({"source", "target", "port"})
_LEAF_KINDS = frozenset({"input", "param", "const"})
#: what version 2 adds: a dataset, data leaves and their column
_TOP_KEYS_V2 = _TOP_KEYS | {"dataset"}
_NODE_KEYS_V2 = _NODE_KEYS | {"column"}
_LEAF_KINDS_V2 = _LEAF_KINDS | {"data"}
#: node keys every op may have once the schema has passed (attributes are per op)
_PLAIN_NODE_KEYS = frozenset({"id", "name", "op", "value", "pos", "column"})
_DATASET_KEYS = frozenset({"name", "csv", "origin", "test", "columns"})
_ID = re.compile(r"[A-Za-z0-9_]{1,32}")
_NUMBER = (int, float)
_NUMBER_TYPES = frozenset(_NUMBER)
_INT_TYPES = frozenset({int})
_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})


def _plain_dataset(ds: Any) -> bool:
    """The ``dataset`` part of ``_plainly_valid``: a few C-speed passes per column."""
    if type(ds) is not dict or not ds.keys() <= _DATASET_KEYS \
            or ("columns" in ds) == ("csv" in ds):
        return False
    if "name" in ds and type(ds["name"]) is not str:
        return False
    if "csv" in ds and (type(ds["csv"]) is not str or not ds["csv"]):
        return False
    if "origin" in ds and (type(ds["origin"]) is not dict
                           or not set(map(type, ds["origin"].values())) <= _SCALAR_TYPES):
        return False
    if "test" in ds:
        test = ds["test"]
        if type(test) is not list or not set(map(type, test)) <= _INT_TYPES \
                or (test and min(test) < 0) or len(set(test)) != len(test):
            return False
    if "columns" in ds:
        cols = ds["columns"]
        if type(cols) is not dict or not cols:
            return False
        for k, v in cols.items():
            if not 1 <= len(k) <= 200 or type(v) is not list \
                    or not set(map(type, v)) <= _NUMBER_TYPES:
                return False
    return True


def _plainly_valid(data: dict) -> bool:
    """True only when ``data`` certainly satisfies its version's schema
    (graph-v1.schema.json or graph-v2.schema.json), checked in one plain pass (the
    general validator costs ~0.3 ms a node). Anything unusual answers False, and the
    schema validator then finds and words the problem, as before."""
    keys = data.keys()
    version = data.get("version")
    if type(version) is not int or not (version == 1 or version == 2):
        return False
    v2 = version == 2
    if not (_TOP_REQUIRED <= keys <= (_TOP_KEYS_V2 if v2 else _TOP_KEYS)):
        return False
    if data["format"] != FORMAT:
        return False
    if v2 and "dataset" in data and not _plain_dataset(data["dataset"]):
        return False
    if "note" in data and type(data["note"]) is not str:
        return False
    out, nodes, edges = data["output"], data["nodes"], data["edges"]
    if not (out is None or type(out) is str) or type(nodes) is not list \
            or type(edges) is not list:
        return False
    id_ok = _ID.fullmatch
    node_keys = _NODE_KEYS_V2 if v2 else _NODE_KEYS
    leaf_kinds = _LEAF_KINDS_V2 if v2 else _LEAF_KINDS
    for nd in nodes:
        if type(nd) is not dict or not nd.keys() <= node_keys:
            return False
        nid, name, op = nd.get("id"), nd.get("name"), nd.get("op")
        if type(nid) is not str or not id_ok(nid) or type(op) is not str \
                or type(name) is not str or not 1 <= len(name) <= 200:
            return False
        if ("value" in nd) != (op in leaf_kinds):
            return False
        if v2 and (("column" in nd) != (op == "data") or "column" in nd and not (
                type(nd["column"]) is str and 1 <= len(nd["column"]) <= 200)):
            return False
        if "value" in nd and type(nd["value"]) not in _NUMBER and not (
                type(nd["value"]) is str and nd["value"] in NON_FINITE):
            return False
        if "exponent" in nd and type(nd["exponent"]) not in _NUMBER:
            return False
        if "pos" in nd:
            pos = nd["pos"]
            if type(pos) is not list or len(pos) != 2 or type(pos[0]) not in _NUMBER \
                    or type(pos[1]) not in _NUMBER:
                return False
    for ed in edges:
        if type(ed) is not dict or ed.keys() != _EDGE_KEYS:
            return False
        if type(ed["source"]) is not str or type(ed["target"]) is not str \
                or type(ed["port"]) is not str:
            return False
    return True


def _show(instance: Any) -> str:
    """A JSON value as a message quotes it: JSON text, at most 80 characters."""
    try:
        text = json.dumps(instance, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        text = type(instance).__name__
    return clip(text)


_TYPE_WORDS = {"number": "a number", "string": "text", "object": "an object",
               "array": "a list", "integer": "an integer", "boolean": "true or false",
               "null": "null"}


def _dataset_problem(e: "jsonschema.ValidationError", where: list[Any]
                     ) -> tuple[list[Any], str] | None:
    """The wording of a schema violation inside ``dataset`` (None: the general one)."""
    if e.validator == "oneOf" and where == ["dataset"] and isinstance(e.instance, dict):
        if "columns" in e.instance and "csv" in e.instance:
            return where, ('gives both "columns" and "csv": a dataset is either inline '
                           "(columns) or a CSV file beside the graph (csv)")
        if "columns" not in e.instance and "csv" not in e.instance:
            return [*where, "columns"], ('missing: a dataset needs its columns, or "csv": '
                                         "a CSV file beside the graph")
    inside = where[1] if len(where) > 1 else None
    if inside == "columns":
        if e.validator == "minProperties":
            return where, "a dataset needs at least one column"
        if e.validator in ("minLength", "maxLength") and len(where) == 2:
            if e.validator == "minLength":
                return where, "a column name must not be empty"
            return where, (f"the column name {quote(e.instance)} is too long "
                           f"({len(e.instance):,} characters; at most {e.validator_value})")
        if e.validator == "type" and len(where) == 4:
            return where, (f"{_show(e.instance)} is not a number (a dataset holds finite "
                           "numbers only)")
    if inside == "test":
        if e.validator == "uniqueItems" and isinstance(e.instance, list):
            first: dict[Any, int] = {}
            for i, v in enumerate(e.instance):
                if v in first:
                    return [*where, i], (f"row {_show(v)} is listed twice (also "
                                         f"{_json_path([*where, first[v]])})")
                first[v] = i
        if e.validator == "minimum":
            return where, f"{_show(e.instance)} is not a row (rows are numbered from 0)"
    return None


def _schema_problem(e: "jsonschema.ValidationError", version: int = 1
                    ) -> tuple[list[Any], str]:
    """(JSON path parts, problem) for a schema violation, worded without repeating more
    than 80 characters of the file."""
    where = list(e.absolute_path)
    if where and where[0] == "dataset":
        worded = _dataset_problem(e, where)
        if worded is not None:
            return worded
    if e.validator == "additionalProperties":
        allowed = e.schema.get("properties", {})
        extra = [k for k in e.instance if k not in allowed] if isinstance(e.instance, dict) \
            else []
        key = extra[0] if extra else "?"
        return where, (f"unknown key {quote(key)} (allowed: {', '.join(allowed)})")
    if e.validator == "required":
        missing = next((k for k in e.validator_value if k not in e.instance), "?") \
            if isinstance(e.instance, dict) else "?"
        if missing == "column":
            return [*where, missing], "missing: a data node needs its column"
        return [*where, missing], "missing"
    if e.validator == "type":
        want = e.validator_value
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in (want if isinstance(want, list)
                                                             else [want]))
        return where, f"{_show(e.instance)} is not of type {want} (expected {words})"
    if e.validator == "not" and e.validator_value == {"required": ["column"]}:
        op = e.instance.get("op") if isinstance(e.instance, dict) else None
        kind = op if isinstance(op, str) else "non-data"
        article = "an" if kind[:1] in tuple("aeiou") else "a"
        return [*where, "column"], (f"{article} {clip(kind, 40)} node has no column (only "
                                    "data leaves read a column)")
    if e.validator in ("if", "then", "else", "not"):
        leaves = "input, param, const, data" if version >= 2 else "input, param, const"
        return where, f"leaf nodes ({leaves}) need a value; other ops have none"
    if e.validator in ("anyOf", "oneOf") and where and where[-1] == "value":
        return where, (f"{_show(e.instance)} is not a number (a leaf value is a number, "
                       'or "nan", "inf" or "-inf")')
    if e.validator == "pattern" and where and where[-1] == "id":
        return where, (f"{_show(e.instance)} is not an id (1 to 32 letters, digits or _, "
                       "such as n1)")
    if e.validator == "maxLength":
        return where, (f"{_show(e.instance)} is too long ({len(e.instance):,} characters; "
                       f"at most {e.validator_value})")
    if e.validator == "minLength":
        return where, "must not be empty"
    if e.validator in ("minItems", "maxItems"):
        return where, f"{_show(e.instance)} must hold exactly two numbers [x, y]"
    if e.validator == "const":
        return where, f"{_show(e.instance)} should be {_show(e.validator_value)}"
    return where, f"{_show(e.instance)} is not valid here ({e.validator})"


def _leaf_value(v: Any) -> float:
    return NON_FINITE[v] if type(v) is str else float(v)


def _csv_ref_problem(ref: str) -> str | None:
    """Why ``ref`` may not name a dataset's CSV file (None: it may): it must be relative
    to the graph file's folder and stay in it, so a file cannot make the program read
    anything the person did not put beside it."""
    if "\0" in ref:
        return f"{quote(ref)} is not a file name"
    if ref.startswith(("/", "\\")) or PureWindowsPath(ref).drive or os.path.isabs(ref):
        return (f"{quote(ref)} is an absolute path: name the CSV file relative to the "
                'graph file\'s folder (such as "points.csv" or "data/points.csv")')
    if ".." in re.split(r"[\\/]", ref):
        return (f"{quote(ref)} leads out of the graph file's folder (..): the CSV file "
                "must be in that folder or below it")
    return None


def _dataset_in(spec: dict, fail: Any, folder: str | os.PathLike | None) -> Dataset:
    """The ``dataset`` of a file whose schema has passed: the rules a schema cannot say
    (column names, equal lengths, test rows in range) and the CSV file read."""
    origin = dict(spec.get("origin", {}))
    if "columns" in spec:
        n, first = 0, ""
        for i, (k, v) in enumerate(spec["columns"].items()):
            where = _key_path("$.dataset.columns", k)
            problem = _column_name_problem(k)
            if problem is not None:
                raise fail(where, problem)
            if i == 0:
                n, first = len(v), k
            elif len(v) != n:
                raise fail(where, f"has {len(v):,} rows, but {quote(first)} has {n:,}: "
                                  "every column holds one number per row")
        columns = {k: np.array(v, dtype=np.float64) for k, v in spec["columns"].items()}
        name = spec.get("name", "")
    else:
        ref, where = spec["csv"], "$.dataset.csv"
        problem = _csv_ref_problem(ref)
        if problem is not None:
            raise fail(where, problem)
        if folder is None:
            raise fail(where, f"the CSV file {quote(ref)} is named relative to the graph "
                              "file's folder, and this graph was not read from a file")
        path = Path(os.path.abspath(Path(folder) / ref.replace("\\", "/")))
        stamp = _stamp(path)
        try:
            read = _read_csv_file(path)
        except UnreadableFileError as e:
            raise fail(where, f"cannot read the CSV file {quote(ref)}: {e.reason}") from None
        except UnicodeDecodeError as e:
            raise fail(where, f"the CSV file {quote(ref)} is not UTF-8 text "
                              f"(byte {e.start})") from None
        except DataError as e:
            msg = str(e).removeprefix(path.name + ": ")
            raise fail(where, f"the CSV file {quote(ref)}: {msg}") from None
        columns, n = dict(read.columns), read.n_rows
        name = spec.get("name", PurePosixPath(ref.replace("\\", "/")).name)
        origin["csv"] = str(path)
    test = spec.get("test", [])
    if test and max(test) >= n:
        i = next(i for i, t in enumerate(test) if t >= n)
        raise fail(f"$.dataset.test[{i}]", f"there is no row {_show(test[i])}: the dataset "
                                           f"has {n:,} rows, numbered from 0")
    mask = np.zeros(n, dtype=bool)
    mask[np.array(test, dtype=np.int64)] = True
    ds = Dataset(columns, mask, name=repair_text(name), origin=origin)
    if "csv" in spec and stamp is not None:
        _remember(ds, path, stamp)
    return ds


def _has_cycle(g: Graph) -> bool:
    """The fast engine's topological sort (integer ranks, in bulk) fails exactly when
    the graph has a cycle; it is about twice as fast as networkx's check."""
    from engine.fast.flat import FlatGraph
    try:
        FlatGraph(g.nx)
    except ValueError:
        return True
    return False


class _NotPlain(Exception):
    """Raised by ``from_dict(..., plain=True)`` when the file is not plainly valid: the
    caller then takes the careful path, which words the first problem."""


_ORIGIN = (0.0, 0.0)
_ASCII_NAMES = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\n[A-Za-z_][A-Za-z0-9_]*)*")
_KEYWORDS = frozenset(keyword.kwlist)


def _names_valid(names: list[str]) -> bool:
    """``all(map(is_valid_name, names))`` (lengths checked already): one regex pass over
    the joined names when they are all ASCII identifiers, the common case."""
    if _ASCII_NAMES.fullmatch("\n".join(names)) is not None:
        return _KEYWORDS.isdisjoint(names)
    return all(map(is_valid_name, names))


def _rounded(xy: np.ndarray) -> list:
    """``round(float(v), 2)`` of every number in ``xy``: numpy's round agrees with
    Python's exactly where it leaves a number unchanged (a number already at 0.01, as
    every saved file's positions are); the rest go through Python's round."""
    r = np.round(xy, 2)
    out = xy.tolist()
    for i in np.flatnonzero(r != xy).tolist():
        out[i] = round(out[i], 2)
    return out


class _Built:
    """What ``_build_plainly`` knows after building: ``forward`` when every edge goes
    from an earlier node of the file to a later one (then there is no cycle)."""

    def __init__(self, forward: bool) -> None:
        self.forward = forward


def _build_plainly(g: Graph, nodes: list, edges: list, idmap: dict[str, str],
                   version: int) -> "_Built | bool":
    """Fill the empty graph ``g`` with every node and edge, a column at a time, when
    each would pass ``Graph.add_node`` and ``Graph.connect_error``; False (``g``
    untouched) otherwise. The result is the graph the checked path builds: the same
    node dicts, the same networkx insertion order (which fixes the order gradients are
    summed in). ``_plainly_valid`` has passed: every field has its schema type."""
    from engine.graph import _column_name
    from engine.ops import ALIASES
    n = len(nodes)
    ops = [nd["op"] for nd in nodes]
    specs = {}
    for op in set(ops):
        spec = OPS.get(op)
        if spec is None or (op == "data" and version == 1):
            return False
        specs[op] = spec
    # keys beyond the plain ones (the schema allows only op attributes, such as a
    # power's exponent) only on ops that have them, and every attribute present
    extra_keys = (_NODE_KEYS_V2 | frozenset(a for sp in specs.values()
                                            for a in sp.attr_names)) - _PLAIN_NODE_KEYS
    with_attrs = {i for k in extra_keys for i, nd in enumerate(nodes) if k in nd}
    attr_ops = {op for op, sp in specs.items() if sp.attrs}
    if attr_ops:
        with_attrs.update(i for i, op in enumerate(ops) if op in attr_ops)
    names = [nd["name"] for nd in nodes]
    if len(set(names)) != n or not (set(OPS) | set(ALIASES)).isdisjoint(names) \
            or not _names_valid(names):
        return False
    values = [nd.get("value", 0.0) for nd in nodes]
    try:
        if str in set(map(type, values)):  # "nan", "inf", "-inf" are leaf values
            vals = list(map(_leaf_value, values))
            ok = np.isfinite([float(v) for v in values if type(v) is not str]).all()
        else:
            vals = list(map(float, values))
            ok = np.isfinite(vals).all()
        if not ok:
            return False
        xy = np.array([nd.get("pos", _ORIGIN) for nd in nodes], dtype=np.float64)
    except OverflowError:  # an integer beyond a float
        return False
    if n and not np.isfinite(xy).all():
        return False
    flat = _rounded(xy.reshape(-1)) if n else []
    poss = list(zip(flat[0::2], flat[1::2]))
    nids = [idmap[nd["id"]] for nd in nodes] if n else []
    node_dicts = {nid: {"name": name, "op": op, "value": v, "pos": p}
                  for nid, name, op, v, p in zip(nids, names, ops, vals, poss)}
    for i in sorted(with_attrs):
        nd, spec = nodes[i], specs[ops[i]]
        allowed = _PLAIN_NODE_KEYS | frozenset(spec.attr_names)
        if not allowed.issuperset(nd):
            return False
        full = spec.default_attrs()
        for a in spec.attr_names:
            if a not in nd or not _finite_number(nd[a]):
                return False
            full[a] = float(nd[a])
        node_dicts[nids[i]]["attrs"] = full
    if "data" in specs:
        for i, op in enumerate(ops):
            if op == "data":
                try:
                    node_dicts[nids[i]]["column"] = _column_name(repair_text(nodes[i]["column"]))
                except EngineError:
                    return False
    at = _edges_plainly_valid(node_dicts, edges, idmap)
    if at is None:
        return False
    G = g.nx
    node, succ, pred = G._node, G._succ, G._pred
    for nid, d in node_dicts.items():
        node[nid] = d
        succ[nid] = {}
        pred[nid] = {}
    # the node id objects themselves (idmap's values), not the edges' equal strings:
    # the fast engine matches ids by identity (engine.fast.flat.FlatGraph)
    for ed in edges:
        u, v = idmap[ed["source"]], idmap[ed["target"]]
        keys = succ[u].get(v)
        if keys is None:
            keys = succ[u][v] = pred[v][u] = {}
        keys[ed["port"]] = {}
    g._names.update(zip(names, nids))
    g._next = max(g._next, max(map(int, (nid[1:] for nid in nids)), default=0) + 1)
    src, tgt = at
    return _Built(bool((src < tgt).all()))


def _edges_plainly_valid(g: "Graph | dict", edges: list,
                         idmap: dict[str, str]) -> "tuple[np.ndarray, np.ndarray] | None":
    """When no edge would be refused by ``Graph.connect_error`` (cycles aside): both
    ends exist, no self-loop, the target has the port, and no port is fed twice within
    the file, each edge's (source, target) positions in the node order; None otherwise
    (the caller then checks edge by edge, which words the first problem as before).
    A few passes over whole columns."""
    nodes = g if isinstance(g, dict) else g.nx._node
    m = len(edges)
    srcs = [ed["source"] for ed in edges]
    tgts = [ed["target"] for ed in edges]
    ports = [ed["port"] for ed in edges]
    index = {nid: i for i, nid in enumerate(nodes)}
    if not all(map(str.__eq__, idmap, idmap.values())):  # ids renumbered: file → graph
        get = idmap.get
        srcs, tgts = list(map(get, srcs)), list(map(get, tgts))
    try:
        si = np.fromiter(map(index.__getitem__, srcs), dtype=np.int64, count=m)
        ti = np.fromiter(map(index.__getitem__, tgts), dtype=np.int64, count=m)
    except (KeyError, TypeError):  # an end that no node has
        return None
    if m and (si == ti).any():  # a self-loop
        return None
    kinds = sorted(set(ports))
    port_code = {p: i for i, p in enumerate(kinds)}
    pc = np.fromiter(map(port_code.__getitem__, ports), dtype=np.int64, count=m)
    pair = ti * len(kinds) + pc
    pair.sort()  # (np.unique hashes large integers, 100× slower than a sort here)
    if m > 1 and not (pair[1:] != pair[:-1]).all():  # a port fed twice
        return None
    ops = [d["op"] for d in nodes.values()]
    op_names = sorted(set(ops))
    op_code = {o: i for i, o in enumerate(op_names)}
    oc = np.fromiter(map(op_code.__getitem__, ops), dtype=np.int64, count=len(ops))
    for k in np.unique(oc[ti] * len(kinds) + pc).tolist():
        spec, port = OPS[op_names[k // len(kinds)]], kinds[k % len(kinds)]
        if spec.is_leaf or not (spec.valid_port(port) if spec.variadic
                                else port in spec.ports):
            return None
    return si, ti


def from_dict(data: Any, filename: str = "<data>",
              folder: str | os.PathLike | None = None, *, plain: bool = False) -> Graph:
    """Check everything, then build. The first problem found is reported; a dataset is
    checked last (reading its CSV file, in ``folder``, is the slow part).

    ``plain``: only build a plainly valid file in bulk, raising ``_NotPlain`` for
    anything else (``_loads`` then takes the careful path; see there).

    Ids that are not canonical (``n`` and at most 18 digits, see ``graph.CANONICAL_ID``)
    are renumbered ``n1``, ``n2``, … in file order, edges and output following, so the
    graph can always gain nodes and be saved and reopened."""
    def fail(path: str, problem: str) -> GraphFileError:
        return GraphFileError(filename, path, problem)

    if not isinstance(data, dict):
        raise fail("$", "expected a JSON object at the top level")
    is_plain = _plainly_valid(data)
    if plain and not is_plain:
        raise _NotPlain
    if data.get("format") != FORMAT:
        raise fail("$.format", f"not a Chain Rule Studio graph (format is "
                               f"{_show(data.get('format'))}, expected \"{FORMAT}\")")
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
        raise fail("$.version", f"written by a newer version (file format "
                                f"{clip(str(version))}); this program reads version {VERSION}")
    if isinstance(version, bool) or not (version == 1 or version == 2):
        raise fail("$.version", f"unsupported version {_show(version)} (expected 1 or 2)")
    version = int(version)  # 1.0 is 1, as the schema's const says
    errors = [] if is_plain else sorted(
        _validator(version).iter_errors(data),
        key=lambda e: (len(e.path), list(map(str, e.path))))
    if errors:
        parts, problem = _schema_problem(errors[0], version)
        raise fail(_json_path(parts), problem)

    nodes = data["nodes"]
    seen_ids: dict[str, int] = {}
    for i, nd in enumerate(nodes):
        nid = nd["id"]
        if nid in seen_ids:
            if plain:
                raise _NotPlain
            raise fail(f"$.nodes[{i}].id", f"duplicate node id {quote(nid)} "
                                           f"(also $.nodes[{seen_ids[nid]}])")
        seen_ids[nid] = i
    if all(map(is_canonical_id, seen_ids)):
        idmap = {nid: nid for nid in seen_ids}
    else:
        idmap = {nid: f"n{i + 1}" for i, nid in enumerate(seen_ids)}

    g = Graph()
    g.note = data.get("note", "")
    # a plain file is built in bulk; anything else goes the careful way below, which
    # finds and words the first problem exactly as it always has
    built = _build_plainly(g, nodes, data["edges"], idmap, version)
    if plain and not built:
        raise _NotPlain
    for i, nd in enumerate(() if built else nodes):
        path = f"$.nodes[{i}]"
        op = nd["op"]
        if op not in OPS or op == "data" and version == 1:
            if op == "data":
                raise fail(f"{path}.op", "a data node needs file format version 2 (this "
                                         "file says version 1)")
            raise fail(f"{path}.op", f"unknown op {quote(nd['op'])}")
        spec = OPS[op]
        for a in spec.attr_names:
            if a not in nd:
                raise fail(f"{path}.{a}", f"missing: a {spec.name} node needs its {a}")
        extra = next((k for k in nd if k not in _PLAIN_NODE_KEYS
                      and k not in spec.attr_names), None)
        if extra is not None:
            article = "an" if spec.name[0] in "aeiou" else "a"
            raise fail(f"{path}.{extra}", f"{article} {spec.name} node has no {extra}")
        value = nd.get("value", 0.0)
        pos = nd.get("pos", (0.0, 0.0))
        attrs = {a: nd[a] for a in spec.attr_names}
        if not ((type(value) is str or _finite_number(value)) and len(pos) == 2
                and _finite_number(pos[0]) and _finite_number(pos[1])
                and all(map(_finite_number, attrs.values()))):
            numbers = {"pos": list(pos), **attrs}
            if type(value) is not str:  # "nan", "inf", "-inf": the schema checked them
                numbers["value"] = value
            bad = _find_problem(numbers, path)
            if bad is not None:
                where, problem = bad
                if where.split(".")[-1] in spec.attr_names:
                    problem = f"the {where.split('.')[-1]} must be a finite number"
                raise fail(where, problem)
        if nd["name"] and len(nd["name"]) > MAX_NAME:  # the schema says so too
            raise fail(f"{path}.name", f"the name is too long ({len(nd['name']):,} "
                                       f"characters; at most {MAX_NAME})")
        try:
            # positions are kept to 0.01, as they are written: what is loaded is
            # what the next save writes
            g.add_node(op, nd["name"], _leaf_value(value),
                       (round(float(pos[0]), 2), round(float(pos[1]), 2)), id=idmap[nd["id"]],
                       attrs={a: float(v) for a, v in attrs.items()},
                       column=repair_text(nd["column"]) if op == "data" else None)
        except InvalidValueError as e:
            raise fail(f"{path}.{spec.attr_names[0] if spec.attr_names else 'value'}",
                       str(e)) from None
        except EngineError as e:
            raise fail(f"{path}.name", str(e)) from None
    edges = () if built else data["edges"]
    if edges and _edges_plainly_valid(g, edges, idmap):
        # every check below would pass: add them in bulk (per-edge checks scan each
        # target's in-edges, quadratic in a long sum's inputs)
        g.nx.add_edges_from((idmap[ed["source"]], idmap[ed["target"]], ed["port"])
                            for ed in edges)
        edges = ()
    for i, ed in enumerate(edges):
        path = f"$.edges[{i}]"
        for end in ("source", "target"):
            if ed[end] not in idmap:
                raise fail(f"{path}.{end}", f"no node has the id {quote(ed[end])}")
        src, dst = idmap[ed["source"]], idmap[ed["target"]]
        # cycles are found once for the whole graph below: per-edge path searches are O(n²)
        err = g.connect_error(src, dst, ed["port"], check_cycle=False)
        if err is not None:
            where = {"PortError": "port", "PortTakenError": "port", "SelfLoopError": "target",
                     "CycleError": "target"}.get(type(err).__name__, "port")
            raise fail(f"{path}.{where}", str(err))
        g.connect_trusted(src, dst, ed["port"])
    if not (isinstance(built, _Built) and built.forward) and _has_cycle(g):
        cycle = nx.find_cycle(g.nx)
        index = {(idmap[ed["source"]], idmap[ed["target"]], ed["port"]): i
                 for i, ed in enumerate(data["edges"])}
        first = min(index[(u, v, k)] for u, v, k in cycle)
        names = [g.name_of(u) for u, _, _ in cycle] + [g.name_of(cycle[0][0])]
        raise fail(f"$.edges[{first}]", "the edges make a cycle: " + clip(" → ".join(names)))
    out = data["output"]
    if out is not None:
        if out not in idmap:
            raise fail("$.output", f"no node has the id {quote(out)}")
        g.set_output(idmap[out])
    if any("pos" not in nd for nd in nodes):
        for nid, p in layout(g).items():
            g.set_pos(nid, p)
    if "dataset" in data:
        g.dataset = _dataset_in(data["dataset"], fail, folder)
    return g


def prepare_paste(graph: Graph, data: dict, offset: tuple[float, float] = (40.0, 40.0)) -> dict:
    """Clipboard data made ready to add to ``graph``: fresh ids, names made unique,
    positions shifted. The result is validated like a file; ``output`` is dropped."""
    src = from_dict({**{k: v for k, v in data.items() if k != "dataset"}, "output": None},
                    "clipboard")
    taken = set(graph.names())
    remap: dict[str, str] = {}
    nodes = []
    for n in src.nodes():
        new_id = graph.new_id()
        remap[n.id] = new_id
        name = n.name
        if name in taken:
            # room for the number unique_name appends, within the name limit
            stem = (name.rstrip("0123456789") or name)[:MAX_NAME - 12]
            if not is_valid_name(stem):
                stem = "n"
            name = unique_name(stem, taken)
        taken.add(name)
        d: dict[str, Any] = {"id": new_id, "name": name, "op": n.op,
                             "pos": [n.pos[0] + offset[0], n.pos[1] + offset[1]]}
        if n.spec.is_leaf:
            d["value"] = n.value
        if n.op == "data":
            d["column"] = src.column_of(n.id)
        d.update(n.attrs)
        nodes.append(d)
    edges = [{"source": remap[s], "target": remap[t], "port": p} for s, t, p in src.edges()]
    version = 2 if any(d["op"] == "data" for d in nodes) else 1
    return {"format": FORMAT, "version": version, "output": None, "nodes": nodes,
            "edges": edges}
