"""The expression language: a whitelisted subset of Python syntax, parsed, never run.

``h = w1*x; yhat = w2*h; L = squared_error(y, yhat)`` builds a graph. The text is
read with ``ast.parse`` (which only builds a syntax tree) and every node of that tree
is checked against a whitelist; user text is never passed to eval, exec or compile.

Rules: assigned names name nodes; free names become leaves (``param`` when listed,
else ``input``); ``name = 2`` makes a leaf with a value; ``param(0.5)``, ``input(2)``
and ``const(2)`` choose a leaf's kind; number literals become ``const`` nodes; the
last statement is the output. Temporaries get names like ``mul1`` and ``c1``.
"""

from __future__ import annotations

import ast
import math
import re
import sys
import threading
import warnings
from typing import Iterable

from engine.errors import ExpressionError, clip, quote
from engine.graph import RESERVED, Graph
from engine.layout import apply_layout
from engine.names import MAX_NAME, unique_name
from engine.ops import ALIASES, OPS

MAX_CHARS = 50_000_000
#: stack for the parsing thread (address space, committed only as used) and the recursion
#: limit it runs under: enough for one sum of a few hundred thousand terms
_PARSE_STACK = 1 << 29
_PARSE_RECURSION = 1_000_000

_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_BINOP_TEXT = {"add": " + ", "sub": " - ", "mul": " * ", "div": " / ", "pow": " ** "}
_OP_SYMBOL = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<",
              ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&"}

# what each rejected syntax is called in messages
_NOT_ALLOWED = {
    ast.Attribute: "attributes (a.b)", ast.Subscript: "subscripts (a[i])",
    ast.Lambda: "lambda functions", ast.Compare: "comparisons", ast.BoolOp: "and/or",
    ast.IfExp: "conditional expressions", ast.JoinedStr: "f-strings", ast.List: "lists",
    ast.Tuple: "tuples", ast.Dict: "dictionaries", ast.Set: "sets",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "generator expressions",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.NamedExpr: "the := operator",
    ast.Starred: "starred arguments (*a)", ast.Slice: "slices",
    ast.Import: "import statements", ast.ImportFrom: "import statements",
    ast.FunctionDef: "function definitions", ast.AsyncFunctionDef: "function definitions",
    ast.ClassDef: "class definitions", ast.If: "if statements", ast.For: "loops",
    ast.AsyncFor: "loops", ast.While: "loops", ast.With: "with statements",
    ast.AsyncWith: "with statements", ast.Try: "try statements", ast.Raise: "raise",
    ast.Return: "return", ast.Delete: "del", ast.Global: "global", ast.Nonlocal: "nonlocal",
    ast.Pass: "pass", ast.Break: "break", ast.Continue: "continue", ast.Assert: "assert",
    ast.AugAssign: "augmented assignment (+=)", ast.AnnAssign: "annotated assignment",
    ast.Match: "match statements",
}
LEAF_CALLS = ("input", "param", "const", "data")


def _err(node: ast.AST, message: str) -> ExpressionError:
    return ExpressionError(message, getattr(node, "lineno", 1),
                           getattr(node, "col_offset", 0) + 1)


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            return "strings"
        if isinstance(node.value, bytes):
            return "bytes"
        if isinstance(node.value, bool):
            return f"{node.value} (not a number)"
        if node.value is None:
            return "None"
        if isinstance(node.value, complex):
            return "complex numbers"
        return "this constant"
    for cls in type(node).__mro__:
        if cls in _NOT_ALLOWED:
            return _NOT_ALLOWED[cls]
    return type(node).__name__


class _Builder:
    def __init__(self, text: str, params: set[str], columns: set[str] = frozenset()) -> None:
        self.graph = Graph()
        self.params = params
        #: dataset columns: a free name among them becomes a data leaf bound to it
        self.columns = columns
        self.defined: dict[str, str] = {}       # name → node id (assigned or leaf)
        self.leaf_first_use: dict[str, ast.AST] = {}
        self.assigned_at: dict[str, ast.AST] = {}
        self.taken: set[str] = set()
        self._counters: dict[str, int] = {}

    # -------------------------------------------------------------- helpers
    def _temp(self, stem: str) -> str:
        name = unique_name(stem, self.taken, self._counters)
        self.taken.add(name)
        return name

    @staticmethod
    def _number(node: ast.AST) -> float | None:
        """The value of a numeric literal or a negated one, else None."""
        sign = 1.0
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
            node = node.operand
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            try:
                v = sign * float(node.value)
            except OverflowError:
                raise _err(node, "number is too large") from None
            if not math.isfinite(v):
                raise _err(node, "number is too large")
            return v
        return None

    # ---------------------------------------------------------- statements
    def statements(self, body: list[ast.stmt]) -> None:
        if not body:
            raise ExpressionError("the expression is empty", 1, 1)
        last: str | None = None
        for i, stmt in enumerate(body):
            if isinstance(stmt, ast.Assign):
                if len(stmt.targets) != 1:
                    raise _err(stmt.targets[1], "chained assignment (a = b = …) is not allowed")
                target = stmt.targets[0]
                if not isinstance(target, ast.Name):
                    raise _err(target, f"{_describe(target)} cannot be assigned: assign a name")
                last = self.assign(target, stmt.value)
            elif isinstance(stmt, ast.Expr):
                if i != len(body) - 1:
                    raise _err(stmt, "only the last statement may be a bare expression; "
                                     "assign this one to a name")
                if isinstance(stmt.value, ast.Name):
                    last = self.load(stmt.value)
                else:
                    name = "f" if "f" not in self.taken else None
                    if name:
                        self.taken.add(name)
                    last = self.expr(stmt.value, name)
            else:
                raise _err(stmt, f"{_describe(stmt)} are not allowed")
        self.graph.set_output(last)

    def assign(self, target: ast.Name, value: ast.expr) -> str:
        name = target.id
        if name in RESERVED:
            raise _err(target, f"{quote(name)} is the name of an op and cannot be assigned")
        if name in self.assigned_at:
            first = self.assigned_at[name]
            raise _err(target, f"{quote(name)} is assigned twice (first on line {first.lineno})")
        if name in self.leaf_first_use:
            use = self.leaf_first_use[name]
            raise _err(target, f"{quote(name)} is assigned after being used as an input "
                               f"(line {use.lineno}, column {use.col_offset + 1})")
        self.assigned_at[name] = target
        number = self._number(value)
        if number is not None:
            kind = "param" if name in self.params else "input"
            return self._leaf(name, kind, number)
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) \
                and value.func.id in LEAF_CALLS:
            kind = value.func.id
            self._check_call_shape(value)
            if len(value.args) != 1 or self._number(value.args[0]) is None:
                raise _err(value, f"{kind}(…) takes one number, e.g. {kind}(0.5)")
            if kind == "const" and name in self.params:
                raise _err(target, f"{quote(name)} is listed as a param but declared const")
            if name in self.params:
                kind = "param"
            return self._leaf(name, kind, self._number(value.args[0]))
        if isinstance(value, ast.Name):
            raise _err(value, f"assigning one name to another ({clip(name, 40)} = "
                              f"{clip(value.id, 40)}) is not supported: use "
                              f"{clip(value.id, 40)} directly")
        if name in self.params:
            raise _err(target, f"{quote(name)} is listed as a param but is computed here")
        nid = self.expr(value, name)
        self.defined[name] = nid
        return nid

    def _leaf(self, name: str, kind: str, value: float) -> str:
        nid = self.graph.add_node(kind, name, value)
        self.defined[name] = nid
        return nid

    def load(self, node: ast.Name) -> str:
        name = node.id
        nid = self.defined.get(name)
        if nid is not None:
            return nid
        if name in RESERVED:
            raise _err(node, f"{quote(name)} is an op: call it, e.g. {name}(…)")
        if name in self.pending_assign:
            line = self.pending_assign[name].lineno
            raise _err(node, f"{quote(name)} is used before it is assigned (on line {line})")
        self.leaf_first_use[name] = node
        if name in self.params:
            return self._leaf(name, "param", 0.0)
        return self._leaf(name, "data" if name in self.columns else "input", 0.0)

    def _check_call_shape(self, call: ast.Call) -> None:
        if call.keywords:
            kw = call.keywords[0]
            raise _err(kw.value if kw.arg is None else kw, "keyword arguments are not allowed")
        for a in call.args:
            if isinstance(a, ast.Starred):
                raise _err(a, "starred arguments (*a) are not allowed")

    # --------------------------------------------------------- expressions
    def expr(self, root: ast.expr, root_name: str | None) -> str:
        """Build the nodes of one expression, bottom-up with an explicit stack so very
        long sums (a + b + … with 100,000 terms) need no deep recursion."""
        done: dict[int, str] = {}
        stack: list[tuple[ast.expr, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if not expanded:
                children = self._children(node)
                stack.append((node, True))
                for c in reversed(children):
                    stack.append((c, False))
                continue
            name = root_name if node is root else None
            done[id(node)] = self._make(node, [done[id(c)] for c in self._children(node)], name)
        return done[id(root)]

    def _children(self, node: ast.expr) -> list[ast.expr]:
        if self._number(node) is not None or isinstance(node, ast.Name):
            return []
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                sym = _OP_SYMBOL.get(type(node.op), type(node.op).__name__)
                raise _err(node, f"the operator {sym} is not supported "
                                 "(use + - * / ** and the op functions)")
            if isinstance(node.op, ast.Pow) and self._number(node.right) is not None:
                return [node.left]  # x ** 2: a power node with a fixed exponent
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return [node.operand]
            if isinstance(node.op, ast.UAdd):
                return [node.operand]
            raise _err(node, "only unary minus is supported")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise _err(node.func, f"{_describe(node.func)} cannot be called: "
                                      "call an op by name, e.g. sigmoid(x)")
            fname = node.func.id
            if fname in LEAF_CALLS:
                raise _err(node, f"{fname}(…) declares a leaf: write name = {fname}(value) "
                                 "on its own line")
            fname = ALIASES.get(fname, fname)
            if fname not in OPS:
                raise _err(node.func, f"unknown function {quote(fname)}; the ops are: "
                                      + ", ".join(n for n, s in OPS.items() if not s.is_leaf))
            self._check_call_shape(node)
            spec = OPS[fname]
            want = list(spec.ports) + list(spec.attr_names)
            if not spec.variadic and len(node.args) != len(want):
                raise _err(node, f"{fname} takes {len(want)} argument"
                                 f"{'s' if len(want) != 1 else ''} "
                                 f"({', '.join(want)}), got {len(node.args)}")
            for arg, attr in zip(node.args[len(spec.ports):], spec.attr_names):
                if self._number(arg) is None:
                    raise _err(arg, f"the {attr} of {fname} must be a number")
            return list(node.args[:len(spec.ports)]) if not spec.variadic else list(node.args)
        raise _err(node, f"{_describe(node)} are not allowed" if not _describe(node).startswith(
            ("True", "False")) else f"{_describe(node)} is not allowed")

    def _make(self, node: ast.expr, args: list[str], name: str | None) -> str:
        number = self._number(node)
        if number is not None:
            if name is not None:  # only for a bare final number
                return self.graph.add_node("const", name, number)
            return self.graph.add_node("const", self._temp("c"), number)
        if isinstance(node, ast.Name):
            if name is not None:
                raise _err(node, "a bare name cannot be assigned")
            return self.load(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            if name is not None and self.graph.name_of(args[0]) != name:
                # +expr assigned to a name: keep the name on the operand when it is a temporary
                return self._rename_temp(args[0], name, node)
            return args[0]
        attrs = None
        if isinstance(node, ast.BinOp):
            op = _BINOPS[type(node.op)]
            if op == "pow" and len(args) == 1:
                op, attrs = "power", {"exponent": self._number(node.right)}
        elif isinstance(node, ast.UnaryOp):
            op = "neg"
        else:
            op = node.func.id  # type: ignore[union-attr]
            op = ALIASES.get(op, op)
            spec = OPS[op]
            if spec.attrs:
                attrs = {a: self._number(v) for a, v in
                         zip(spec.attr_names, node.args[len(spec.ports):])}
        spec = OPS[op]
        nid = self.graph.add_node(op, name if name is not None else self._temp(op),
                                  attrs=attrs)
        ports = [f"x{i + 1}" for i in range(len(args))] if spec.variadic else spec.ports
        for port, src in zip(ports, args):
            self.graph.connect_trusted(src, nid, port)
        return nid

    def _rename_temp(self, nid: str, name: str, node: ast.AST) -> str:
        if self.graph.op_of(nid) in LEAF_CALLS and self.graph.name_of(nid) in self.defined:
            raise _err(node, "assigning one name to another is not supported")
        self.graph.rename(nid, name)
        return nid


def _syntax_tree(text: str) -> ast.Module:
    """``ast.parse`` on a thread with a large stack and a raised recursion limit: CPython
    builds ``a + b + … + z`` as a left-nested tree recursively, so a long sum in one
    statement would otherwise hit the default limit of 1,000 levels."""
    box: dict[str, object] = {}

    def work() -> None:
        try:
            box["tree"] = ast.parse(text, mode="exec")
        except BaseException as e:  # handed to the caller's thread below
            box["error"] = e

    old_limit = sys.getrecursionlimit()
    old_stack = threading.stack_size()
    try:
        threading.stack_size(_PARSE_STACK)
        sys.setrecursionlimit(max(old_limit, _PARSE_RECURSION))
        t = threading.Thread(target=work, name="expression-parser")
        # Python's tokenizer warns on stderr about text such as "2and x"; the text is
        # judged by the whitelist here, and a message is one line, so no warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t.start()
            t.join()
    finally:
        threading.stack_size(old_stack)
        sys.setrecursionlimit(old_limit)
    err = box.get("error")
    if isinstance(err, SyntaxError):
        raise ExpressionError(clip(err.msg, 120), err.lineno or 1, err.offset or 1) from None
    if isinstance(err, (RecursionError, MemoryError)):
        # CPython's parser gives these without a message past a few thousand levels
        raise ExpressionError("cannot read the expression: it is nested too deeply "
                              "(unary minus, parentheses or calls thousands deep)") from None
    if isinstance(err, ValueError):
        raise ExpressionError(f"cannot read the expression: "
                              f"{clip(str(err)) or type(err).__name__}") from None
    if err is not None:
        raise err  # type: ignore[misc]
    return box["tree"]  # type: ignore[return-value]


def _in_characters(e: ExpressionError, text: str) -> ExpressionError:
    """The syntax tree counts columns in UTF-8 bytes; people (and the editor's caret)
    count characters, so ``ŷ = a.b`` must point at column 5, not 6."""
    lines = text.splitlines()
    if not 1 <= e.line <= len(lines):
        return e
    raw = lines[e.line - 1].encode("utf-8")[:max(0, e.col - 1)]
    col = len(raw.decode("utf-8", errors="ignore")) + 1
    return e if col == e.col else ExpressionError(e.reason, e.line, col)


#: identifier-like words (Unicode letters, digits, underscore; not starting with a digit)
_IDENT = r"(?<![\w.])[^\W\d]\w*"
#: a comment, to the end of its line (the language has no strings for a # to hide in)
_COMMENT = r"#[^\n]*"


def parse(text: str, params: Iterable[str] = (), layout: bool = True,
          columns: Iterable[str] = ()) -> Graph:
    """Build a graph from expression text; ExpressionError names line and column.
    A free name in ``columns`` (a dataset's column names) becomes a data leaf bound to
    the column of that name; ``params`` win over columns."""
    if not isinstance(text, str):
        raise ExpressionError("the expression must be text")
    if len(text) > MAX_CHARS:
        raise ExpressionError(f"the expression is too long ({len(text):,} characters; "
                              f"at most {MAX_CHARS:,})")
    params = set(params)
    tree = _syntax_tree(text)
    b = _Builder(text, params, set(columns))
    # every identifier of the text: temporaries' names avoid them (a superset of the
    # names in the tree, found by one regex instead of a walk over a million nodes)
    b.taken = set(re.findall(_IDENT, re.sub(_COMMENT, "", text)))
    if any(len(w) > MAX_NAME for w in b.taken):
        for n in ast.walk(tree):
            if isinstance(n, ast.Name) and len(n.id) > MAX_NAME:  # say where it is
                raise _in_characters(_err(n, f"the name {quote(n.id)} is too long "
                                             f"({len(n.id):,} characters; at most "
                                             f"{MAX_NAME})"), text)
    b.pending_assign = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            for t in stmt.targets:
                if isinstance(t, ast.Name) and t.id not in b.pending_assign:
                    b.pending_assign[t.id] = t
    try:
        b.statements(tree.body)
    except ExpressionError as e:
        raise _in_characters(e, text) from None
    unknown = sorted(params - b.graph.names())
    if unknown:
        raise ExpressionError(f"--param names {clip(', '.join(unknown))}, which "
                              f"{'is' if len(unknown) == 1 else 'are'} not in the expression")
    if layout:
        apply_layout(b.graph)
    return b.graph


# ------------------------------------------------------------------ writing

_PREC = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4}
_ATOM = 9
#: how deeply one written expression may nest inlined temporaries before the next one
#: gets a line of its own: Python's parser refuses 200 nested parentheses, so a chain
#: of 1,000 negations must not become one line of -(-(-(…)))
MAX_INLINE_DEPTH = 50


def is_temp_name(name: str, op: str) -> bool:
    """Names the parser makes for temporaries (``mul3``, ``c2``): writing may renumber them."""
    stem = "c" if op == "const" else op
    return re.fullmatch(re.escape(stem) + r"\d+", name) is not None


def _literal(v: float) -> str:
    if not math.isfinite(v):
        raise ValueError("a non-finite value cannot be written as an expression")
    if v == 0 and math.copysign(1.0, v) < 0:
        return "-0.0"
    if v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    return repr(v)


def to_expression(graph: Graph) -> str:
    """Write the graph as text that ``parse`` turns back into the same graph.

    Leaves come first (``x = 2``, ``w1 = param(0.5)``); each named op gets a line;
    temporaries used once are written inline; the output is the last statement.
    """
    G = graph.nx
    out = graph.resolve_output() if len(graph) else None
    order = graph.topological_order()

    def inline(n: str) -> bool:
        op = graph.op_of(n)
        if op in ("input", "param") or n == out or G.out_degree(n) != 1:
            return False
        if not is_temp_name(graph.name_of(n), op):
            return False
        if op == "const":
            # -(3) would read back as the constant −3, not neg(3); x ** 2 as a power
            # node with a fixed exponent, not pow with a constant exponent
            (_, consumer, port), = G.out_edges(n, keys=True)
            return graph.op_of(consumer) != "neg" and not (
                graph.op_of(consumer) == "pow" and port == "exponent")
        return True

    inl = {n for n in order if inline(n)}
    text: dict[str, tuple[str, int]] = {}
    depth: dict[str, int] = {}  # nesting of each inlined text

    def ref(n: str) -> tuple[str, int]:
        if n in inl:
            return text[n]
        return graph.name_of(n), _ATOM

    leaf_lines: list[str] = []
    lines: list[str] = []
    for n in order:
        op = graph.op_of(n)
        spec = OPS[op]
        name = graph.name_of(n)
        if spec.is_leaf:
            v = G.nodes[n]["value"]
            if n in inl:
                lit = _literal(v)
                text[n] = (lit, 3 if lit.startswith("-") else _ATOM)
            elif op == "input":
                leaf_lines.append(f"{name} = {_literal(v)}")
            else:
                leaf_lines.append(f"{name} = {op}({_literal(v)})")
            continue
        ins = graph.inputs(n)
        if not spec.variadic and len(ins) != len(spec.ports):
            fed = {p for p, _ in ins}
            missing = next(p for p in spec.ports if p not in fed)
            raise ValueError(f"{name}: input port {missing!r} is not connected, so the graph "
                             "cannot be written as an expression")
        args = [ref(s) for _, s in ins]
        level = 1 + max((depth.get(s, 0) for _, s in ins), default=0)
        attrs = graph.attrs_of(n)
        if op == "power":
            (t, pr), = args
            expr, prec = f"{t if pr >= 5 else f'({t})'} ** {_literal(attrs['exponent'])}", 4
        elif spec.attrs:
            more = [_literal(attrs[a]) for a in spec.attr_names]
            expr, prec = f"{op}({', '.join([t for t, _ in args] + more)})", _ATOM
        elif op in _BINOP_TEXT:
            p = _PREC[op]
            (ltxt, lp), (rtxt, rp) = args
            if op == "pow":
                lneed, rneed = 5, 3
            else:
                lneed, rneed = p, p + 1
            ltxt = ltxt if lp >= lneed else f"({ltxt})"
            rtxt = rtxt if rp >= rneed else f"({rtxt})"
            expr, prec = f"{ltxt}{_BINOP_TEXT[op]}{rtxt}", p
        elif op == "neg":
            (t, pr), = args
            # a negated literal would read back as a negative constant
            expr, prec = (f"-{t}" if pr >= 3 and not t[:1].isdigit() and pr != 3
                          else f"-({t})"), 3
        else:
            expr, prec = f"{op}({', '.join(t for t, _ in args)})", _ATOM
        if n in inl and level <= MAX_INLINE_DEPTH:
            text[n] = (expr, prec)
            depth[n] = level
        else:
            inl.discard(n)  # written on its own line and referred to by name
            lines.append(f"{name} = {expr}")
    lines = leaf_lines + lines
    if out is not None:
        last = lines[-1].split(" = ", 1)[0] if lines else None
        if last != graph.name_of(out):
            lines.append(graph.name_of(out))
    return "\n".join(lines) + "\n"
