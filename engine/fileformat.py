"""Graph files, format version 1: JSON that diffs well and is checked before it is used.

Loading validates against ``graph-v1.schema.json`` and then against the registry and
the graph rules, and raises one error type, GraphFileError, whose message names the
file, the JSON path and the problem. Saving is atomic: a failed save leaves the old
file byte-identical. See docs/file-format.md.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import networkx as nx

from engine.errors import EngineError, GraphFileError
from engine.graph import Graph, id_key
from engine.layout import layout
from engine.names import is_valid_name, unique_name
from engine.ops import OPS

FORMAT = "chain-rule-studio"
VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("graph-v1.schema.json")


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def _json_path(parts: Iterable[Any]) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


class _NonFinite:
    """Stands in for a NaN/Infinity literal until its JSON path is known."""

    def __init__(self, literal: str) -> None:
        self.literal = literal


def _find_non_finite(obj: Any, path: str = "$") -> tuple[str, str] | None:
    stack = [(obj, path)]
    while stack:
        o, p = stack.pop()
        if isinstance(o, _NonFinite):
            return p, o.literal
        if isinstance(o, float) and not math.isfinite(o):
            return p, "too large"
        if isinstance(o, int) and not isinstance(o, bool) and o.bit_length() > 1000:
            return p, "a number too large for a float"
        if isinstance(o, dict):
            stack.extend((v, f"{p}.{k}") for k, v in reversed(list(o.items())))
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


def to_dict(graph: Graph, ids: Iterable[str] | None = None) -> dict:
    """The file's content as plain data; with ``ids``, only those nodes and the edges
    between them (what the clipboard carries)."""
    keep = set(graph.ids()) if ids is None else set(ids)
    nodes = []
    for n in graph.nodes():
        if n.id not in keep:
            continue
        d: dict[str, Any] = {"id": n.id, "name": n.name, "op": n.op}
        if n.spec.is_leaf:
            d["value"] = n.value
        for a in n.spec.attr_names:
            d[a] = _num(n.attrs[a])
        d["pos"] = [_num(round(n.pos[0], 2)), _num(round(n.pos[1], 2))]
        nodes.append(d)
    edges = [{"source": s, "target": t, "port": p} for s, t, p in graph.edges()
             if s in keep and t in keep]
    data: dict[str, Any] = {"format": FORMAT, "version": VERSION}
    if graph.note:
        data["note"] = graph.note
    data["output"] = graph.output if graph.output in keep else None
    data["nodes"] = nodes
    data["edges"] = edges
    return data


def dumps(graph: Graph) -> str:
    """Stable text: fixed key order, one node or edge per line, ids in order."""
    data = to_dict(graph)

    def line(obj: Any) -> str:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))

    head = [f'  "format": {line(FORMAT)},', f'  "version": {VERSION},']
    if "note" in data:
        head.append(f'  "note": {line(data["note"])},')
    head.append(f'  "output": {line(data["output"])},')
    nodes = ",\n".join("    " + line(n) for n in data["nodes"])
    edges = ",\n".join("    " + line(e) for e in data["edges"])
    body = "\n".join(head)
    body += '\n  "nodes": [\n' + nodes + ("\n  ],\n" if nodes else "  ],\n")
    body += '  "edges": [\n' + edges + ("\n  ]\n" if edges else "  ]\n")
    return "{\n" + body + "}\n"


def save(graph: Graph, path: str | os.PathLike) -> None:
    """Write atomically: temp file in the same folder, flush + fsync, os.replace.
    Any failure leaves the old file as it was and removes the temp file."""
    path = Path(path)
    text = dumps(graph).encode("utf-8")
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.chmod(tmp, path.stat().st_mode & 0o777)
        except FileNotFoundError:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable where the platform allows it
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


# --------------------------------------------------------------------- reading

def loads(text: str | bytes, filename: str = "<string>") -> Graph:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise GraphFileError(filename, "$", f"not UTF-8 text (byte {e.start})") from None
    if not text.strip():
        raise GraphFileError(filename, "$", "the file is empty")
    try:
        data = json.loads(text, parse_constant=_NonFinite)
    except ValueError as e:
        if isinstance(e, json.JSONDecodeError):
            msg = e.msg[:-3] if e.msg.endswith(" at") else e.msg
            where = f"{msg} at line {e.lineno}, column {e.colno}"
            cut = e.pos >= len(text.rstrip()) or (
                msg.startswith("Unterminated string") and '"' not in text[e.pos + 1:])
            problem = (f"truncated: the JSON ends too early: {where}" if cut
                       else f"not valid JSON: {where}")
        else:
            problem = f"not valid JSON: {e}"
        raise GraphFileError(filename, "$", problem) from None
    except RecursionError:
        raise GraphFileError(filename, "$", "not valid JSON: nested too deeply") from None
    bad = _find_non_finite(data)
    if bad is not None:
        raise GraphFileError(filename, bad[0], f"not a finite number ({bad[1]})")
    return from_dict(data, filename)


def load(path: str | os.PathLike) -> Graph:
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise GraphFileError(name, "$", "no such file") from None
    except IsADirectoryError:
        raise GraphFileError(name, "$", "is a folder, not a file") from None
    except OSError as e:
        raise GraphFileError(name, "$", f"cannot be read: {e.strerror or e}") from None
    return loads(raw, name)


_TOP_KEYS = frozenset({"format", "version", "note", "output", "nodes", "edges"})
_TOP_REQUIRED = frozenset({"format", "version", "output", "nodes", "edges"})
_NODE_KEYS = frozenset({"id", "name", "op", "value", "pos", "exponent"})
_EDGE_KEYS = frozenset({"source", "target", "port"})
_LEAF_KINDS = frozenset({"input", "param", "const"})
_ID = re.compile(r"[A-Za-z0-9_]{1,32}")
_NUMBER = (int, float)


def _plainly_valid(data: dict) -> bool:
    """True only when ``data`` certainly satisfies graph-v1.schema.json, checked in one
    plain pass (the general validator costs ~0.3 ms a node). Anything unusual answers
    False, and the schema validator then finds and words the problem, as before."""
    keys = data.keys()
    if not (_TOP_REQUIRED <= keys <= _TOP_KEYS):
        return False
    if data["format"] != FORMAT or type(data["version"]) is not int or data["version"] != 1:
        return False
    if "note" in data and type(data["note"]) is not str:
        return False
    out, nodes, edges = data["output"], data["nodes"], data["edges"]
    if not (out is None or type(out) is str) or type(nodes) is not list \
            or type(edges) is not list:
        return False
    id_ok = _ID.fullmatch
    for nd in nodes:
        if type(nd) is not dict or not nd.keys() <= _NODE_KEYS:
            return False
        nid, name, op = nd.get("id"), nd.get("name"), nd.get("op")
        if type(nid) is not str or not id_ok(nid) or type(op) is not str \
                or type(name) is not str or not 1 <= len(name) <= 200:
            return False
        if ("value" in nd) != (op in _LEAF_KINDS):
            return False
        if "value" in nd and type(nd["value"]) not in _NUMBER:
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


def from_dict(data: Any, filename: str = "<data>") -> Graph:
    """Check everything, then build. The first problem found is reported."""
    def fail(path: str, problem: str) -> GraphFileError:
        return GraphFileError(filename, path, problem)

    if not isinstance(data, dict):
        raise fail("$", "expected a JSON object at the top level")
    if data.get("format") != FORMAT:
        raise fail("$.format", f"not a Chain Rule Studio graph (format is "
                               f"{json.dumps(data.get('format'))}, expected \"{FORMAT}\")")
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
        raise fail("$.version", f"written by a newer version (file format {version}); "
                                f"this program reads version {VERSION}")
    if version != VERSION or isinstance(version, bool):
        raise fail("$.version", f"unsupported version {json.dumps(version)} (expected {VERSION})")
    errors = [] if _plainly_valid(data) else sorted(
        _validator().iter_errors(data), key=lambda e: (len(e.path), list(map(str, e.path))))
    if errors:
        e = errors[0]
        if e.validator == "additionalProperties":
            msg = e.message
        elif e.validator == "required":
            missing = e.message.split("'")[1] if "'" in e.message else "?"
            raise fail(_json_path([*e.absolute_path, missing]), "missing")
        elif e.validator == "type":
            msg = f"{json.dumps(e.instance)[:60]} is not of type {e.validator_value}"
        elif e.validator in ("if", "then", "else", "not"):
            msg = ("leaf nodes (input, param, const) need a value; other ops have none")
        else:
            msg = e.message
        raise fail(_json_path(e.absolute_path), msg)

    g = Graph()
    g.note = data.get("note", "")
    seen_ids: dict[str, int] = {}
    for i, nd in enumerate(data["nodes"]):
        path = f"$.nodes[{i}]"
        nid = nd["id"]
        if nid in seen_ids:
            raise fail(f"{path}.id", f"duplicate node id {nid!r} (also $.nodes[{seen_ids[nid]}])")
        seen_ids[nid] = i
        if nd["op"] not in OPS:
            raise fail(f"{path}.op", f"unknown op {nd['op']!r}")
        spec = OPS[nd["op"]]
        for a in spec.attr_names:
            if a not in nd:
                raise fail(f"{path}.{a}", f"missing: a {spec.name} node needs its {a}")
        extra = next((k for k in nd if k not in _NODE_KEYS - {"exponent"}
                      and k not in spec.attr_names), None)
        if extra is not None:
            article = "an" if spec.name[0] in "aeiou" else "a"
            raise fail(f"{path}.{extra}", f"{article} {spec.name} node has no {extra}")
        value = nd.get("value", 0.0)
        pos = nd.get("pos", (0.0, 0.0))
        attrs = {a: nd[a] for a in spec.attr_names}
        bad = None if _finite_number(value) and len(pos) == 2 and _finite_number(pos[0]) \
            and _finite_number(pos[1]) and all(map(_finite_number, attrs.values())) \
            else _find_non_finite({"value": value, "pos": list(pos), **attrs}, path)
        if bad is not None:
            raise fail(bad[0], "not a finite number")
        try:
            g.add_node(nd["op"], nd["name"], float(value), (float(pos[0]), float(pos[1])),
                       id=nid, attrs={a: float(v) for a, v in attrs.items()})
        except EngineError as e:
            raise fail(f"{path}.name", str(e)) from None
    for i, ed in enumerate(data["edges"]):
        path = f"$.edges[{i}]"
        for end in ("source", "target"):
            if ed[end] not in g:
                raise fail(f"{path}.{end}", f"no node has the id {ed[end]!r}")
        # cycles are found once for the whole graph below: per-edge path searches are O(n²)
        err = g.connect_error(ed["source"], ed["target"], ed["port"], check_cycle=False)
        if err is not None:
            where = {"PortError": "port", "PortTakenError": "port", "SelfLoopError": "target",
                     "CycleError": "target"}.get(type(err).__name__, "port")
            raise fail(f"{path}.{where}", str(err))
        g.connect_trusted(ed["source"], ed["target"], ed["port"])
    if not nx.is_directed_acyclic_graph(g.nx):
        cycle = nx.find_cycle(g.nx)
        index = {(ed["source"], ed["target"], ed["port"]): i for i, ed in enumerate(data["edges"])}
        first = min(index[(u, v, k)] for u, v, k in cycle)
        names = [g.name_of(u) for u, _, _ in cycle] + [g.name_of(cycle[0][0])]
        raise fail(f"$.edges[{first}]", "the edges make a cycle: " + " → ".join(names))
    out = data["output"]
    if out is not None:
        if out not in g:
            raise fail("$.output", f"no node has the id {out!r}")
        g.set_output(out)
    if any("pos" not in nd for nd in data["nodes"]):
        for nid, p in layout(g).items():
            g.set_pos(nid, p)
    return g


def prepare_paste(graph: Graph, data: dict, offset: tuple[float, float] = (40.0, 40.0)) -> dict:
    """Clipboard data made ready to add to ``graph``: fresh ids, names made unique,
    positions shifted. The result is validated like a file; ``output`` is dropped."""
    src = from_dict({**data, "output": None}, "clipboard")
    taken = set(graph.names())
    remap: dict[str, str] = {}
    nodes = []
    for n in src.nodes():
        new_id = graph.new_id()
        remap[n.id] = new_id
        name = n.name
        if name in taken:
            stem = name.rstrip("0123456789") or name
            if not is_valid_name(stem):
                stem = "n"
            name = unique_name(stem, taken)
        taken.add(name)
        d: dict[str, Any] = {"id": new_id, "name": name, "op": n.op,
                             "pos": [n.pos[0] + offset[0], n.pos[1] + offset[1]]}
        if n.spec.is_leaf:
            d["value"] = n.value
        d.update(n.attrs)
        nodes.append(d)
    edges = [{"source": remap[s], "target": remap[t], "port": p} for s, t, p in src.edges()]
    return {"format": FORMAT, "version": VERSION, "output": None, "nodes": nodes, "edges": edges}
