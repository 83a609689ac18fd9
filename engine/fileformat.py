"""Graph files, format version 1: JSON that diffs well and is checked before it is used.

Loading validates against ``graph-v1.schema.json`` and then against the registry and
the graph rules, and raises one error type, GraphFileError, whose message names the
file, the JSON path and the problem (quoting at most 80 characters of the file). What
it returns is complete: every id, name, port and number is one the editor, the fast
engine and the writer accept, so a loaded graph can always be evaluated and saved.
Anything a graph holds can be written: NaN and ±inf leaf values as the strings "nan",
"inf" and "-inf". Saving is atomic (``engine.files``): a failed save leaves the old
file byte-identical. See docs/file-format.md.
"""

from __future__ import annotations

import json
import math
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import networkx as nx

if TYPE_CHECKING:  # imported when a file needs the full validator (a tenth of a second)
    import jsonschema

from engine.errors import EngineError, GraphFileError, InvalidValueError, clip, quote
from engine.files import MAX_FILE_BYTES, UnreadableFileError, read_file, write_atomic
from engine.graph import Graph, is_canonical_id
from engine.layout import layout
from engine.names import MAX_NAME, is_valid_name, unique_name
from engine.ops import OPS

FORMAT = "chain-rule-studio"
VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("graph-v1.schema.json")
#: how a leaf value that is not a finite number is written (JSON has no NaN or ∞)
NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


@lru_cache(maxsize=1)
def _validator() -> "jsonschema.protocols.Validator":
    import jsonschema
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
            d["value"] = _value(n.value)
        for a in n.spec.attr_names:
            d[a] = _num(n.attrs[a])
        d["pos"] = [_coord(n.pos[0]), _coord(n.pos[1])]
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
    """Write atomically (``engine.files.write_atomic``): temp file beside the target,
    flush + fsync, os.replace; through a symlink to its target. Any failure leaves the
    old file as it was and removes the temp file; OSError says why."""
    write_atomic(path, dumps(graph).encode("utf-8"))


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
    bad = _find_problem(data)
    if bad is not None:
        raise GraphFileError(filename, *bad)
    return from_dict(data, filename)


def load(path: str | os.PathLike) -> Graph:
    """Read and check a graph file. Only regular files of at most MAX_FILE_BYTES are
    read (a FIFO or a device is refused at once, never waited on)."""
    name = str(path)
    try:
        raw = read_file(path, MAX_FILE_BYTES)
    except UnreadableFileError as e:
        raise GraphFileError(name, "", e.reason) from None
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


def _schema_problem(e: "jsonschema.ValidationError") -> tuple[list[Any], str]:
    """(JSON path parts, problem) for a schema violation, worded without repeating more
    than 80 characters of the file."""
    where = list(e.absolute_path)
    if e.validator == "additionalProperties":
        allowed = e.schema.get("properties", {})
        extra = [k for k in e.instance if k not in allowed] if isinstance(e.instance, dict) \
            else []
        key = extra[0] if extra else "?"
        return where, (f"unknown key {quote(key)} (allowed: {', '.join(allowed)})")
    if e.validator == "required":
        missing = next((k for k in e.validator_value if k not in e.instance), "?") \
            if isinstance(e.instance, dict) else "?"
        return [*where, missing], "missing"
    if e.validator == "type":
        want = e.validator_value
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in (want if isinstance(want, list)
                                                             else [want]))
        return where, f"{_show(e.instance)} is not of type {want} (expected {words})"
    if e.validator in ("if", "then", "else", "not"):
        return where, "leaf nodes (input, param, const) need a value; other ops have none"
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


def from_dict(data: Any, filename: str = "<data>") -> Graph:
    """Check everything, then build. The first problem found is reported.

    Ids that are not canonical (``n`` and at most 18 digits, see ``graph.CANONICAL_ID``)
    are renumbered ``n1``, ``n2``, … in file order, edges and output following, so the
    graph can always gain nodes and be saved and reopened."""
    def fail(path: str, problem: str) -> GraphFileError:
        return GraphFileError(filename, path, problem)

    if not isinstance(data, dict):
        raise fail("$", "expected a JSON object at the top level")
    if data.get("format") != FORMAT:
        raise fail("$.format", f"not a Chain Rule Studio graph (format is "
                               f"{_show(data.get('format'))}, expected \"{FORMAT}\")")
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
        raise fail("$.version", f"written by a newer version (file format "
                                f"{clip(str(version))}); this program reads version {VERSION}")
    if version != VERSION or isinstance(version, bool):
        raise fail("$.version", f"unsupported version {_show(version)} (expected {VERSION})")
    errors = [] if _plainly_valid(data) else sorted(
        _validator().iter_errors(data), key=lambda e: (len(e.path), list(map(str, e.path))))
    if errors:
        parts, problem = _schema_problem(errors[0])
        raise fail(_json_path(parts), problem)

    nodes = data["nodes"]
    seen_ids: dict[str, int] = {}
    for i, nd in enumerate(nodes):
        nid = nd["id"]
        if nid in seen_ids:
            raise fail(f"$.nodes[{i}].id", f"duplicate node id {quote(nid)} "
                                           f"(also $.nodes[{seen_ids[nid]}])")
        seen_ids[nid] = i
    if all(map(is_canonical_id, seen_ids)):
        idmap = {nid: nid for nid in seen_ids}
    else:
        idmap = {nid: f"n{i + 1}" for i, nid in enumerate(seen_ids)}

    g = Graph()
    g.note = data.get("note", "")
    for i, nd in enumerate(nodes):
        path = f"$.nodes[{i}]"
        if nd["op"] not in OPS:
            raise fail(f"{path}.op", f"unknown op {quote(nd['op'])}")
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
            g.add_node(nd["op"], nd["name"], _leaf_value(value),
                       (round(float(pos[0]), 2), round(float(pos[1]), 2)), id=idmap[nd["id"]],
                       attrs={a: float(v) for a, v in attrs.items()})
        except InvalidValueError as e:
            raise fail(f"{path}.{spec.attr_names[0] if spec.attr_names else 'value'}",
                       str(e)) from None
        except EngineError as e:
            raise fail(f"{path}.name", str(e)) from None
    for i, ed in enumerate(data["edges"]):
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
    if not nx.is_directed_acyclic_graph(g.nx):
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
        d.update(n.attrs)
        nodes.append(d)
    edges = [{"source": remap[s], "target": remap[t], "port": p} for s, t, p in src.edges()]
    return {"format": FORMAT, "version": VERSION, "output": None, "nodes": nodes, "edges": edges}
