"""Built-in dataset generators and CSV import: the data a graph can be trained on.

Generators are small, seeded toy problems whose shape a person can see in a scatter
plot, scaled so that inputs stay roughly within [-2, 2] (tanh units neither saturate nor
sit in their linear part). Every generator:

* draws only from ``np.random.default_rng(seed)``: the same arguments give identical
  arrays, and the data is drawn before the split, so changing ``test_fraction`` never
  moves a point;
* writes 2-D inputs to ``x1``, ``x2`` or one input to ``x``, and its target to ``y``;
* classification: labels exactly 0.0 and 1.0, label 0 on the first ``n // 2`` rows and
  label 1 on the other ``n - n // 2``; regression: ``x`` uniform in [-1, 1];
* ``noise`` is the standard deviation of Gaussian noise, added to both inputs
  (classification) or to ``y`` (regression);
* holds out ``min(floor(n·f + ½), n − 1)`` random rows for testing (``f`` =
  ``test_fraction``; round half up, and at least one row is always left to train on).

CSV import reads numbers only (Python's ``csv`` module, nothing in the file is ever
executed) and says where a file is wrong: line, column number and column name.
"""

from __future__ import annotations

import csv
from array import array
import io
import math
import os
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Callable

import numpy as np

from engine.dataset import TARGET, DataError, Dataset  # noqa: F401  (re-exported)
from engine.errors import clip, quote
from engine.graph import RESERVED
from engine.names import MAX_NAME, is_valid_name

#: generator name → (kind, default n): classification generators write labels 0/1
GENERATORS: dict[str, tuple[str, int]] = {
    "xor": ("classification", 4), "circles": ("classification", 200),
    "moons": ("classification", 200), "spirals": ("classification", 200),
    "gaussians": ("classification", 200), "linear": ("regression", 100),
    "sine": ("regression", 100),
}

#: the most rows a generator makes or a CSV file may hold
MAX_ROWS = 1_000_000
#: the most noise a generator adds (sd): far beyond any useful amount, and small enough
#: that every value stays finite
MAX_NOISE = 1_000_000
#: the largest CSV file read (bytes); a bigger one is refused before it is read
MAX_CSV_BYTES = 512 * 1024 * 1024
#: the fewest rows each generator can make sensibly (xor: one per corner)
_MIN_N = {"xor": 4, "circles": 2, "moons": 2, "spirals": 2, "gaussians": 2,
          "linear": 1, "sine": 1}

#: linear: y = LINEAR_SLOPE·x + LINEAR_INTERCEPT + noise
LINEAR_SLOPE, LINEAR_INTERCEPT = 1.5, 0.5
#: circles: the radius of the inner ring (label 1) and of the outer ring (label 0)
INNER_RADIUS, OUTER_RADIUS = 0.5, 1.0
#: gaussians: the blob centres (label 0 at −c, label 1 at +c) and their spread before noise
BLOB_CENTRE, BLOB_SPREAD = 1.0, 0.4
#: spirals: radius r = SPIRAL_R0 + SPIRAL_DR·t and angle θ = SPIRAL_TURN·t (+π for
#: the second arm), t uniform in [0, 1]: one and a half turns, out to radius 1.8
SPIRAL_R0, SPIRAL_DR, SPIRAL_TURN = 0.2, 1.6, 3.0 * math.pi


def _choices() -> str:
    return ", ".join(GENERATORS)


# ------------------------------------------------------------------ generators
# Each takes (rng, n0, n1, noise) and returns the input columns and the target.

def _noisy(rng: np.random.Generator, pts: np.ndarray, noise: float) -> np.ndarray:
    return pts + rng.normal(0.0, noise, pts.shape) if noise > 0 else pts


def _classes(p0: np.ndarray, p1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stack the two classes' (k, 2) points: label 0 first, then label 1."""
    y = np.concatenate([np.zeros(len(p0)), np.ones(len(p1))])
    return np.concatenate([p0, p1]), y


def _xor(rng: np.random.Generator, n0: int, n1: int, noise: float):
    # label 0 alternates between the corners (0,0) and (1,1); label 1 between (0,1), (1,0)
    c0 = np.array([[0.0, 0.0], [1.0, 1.0]])[np.arange(n0) % 2]
    c1 = np.array([[0.0, 1.0], [1.0, 0.0]])[np.arange(n1) % 2]
    return _classes(_noisy(rng, c0, noise), _noisy(rng, c1, noise))


def _ring(rng: np.random.Generator, k: int, radius: float) -> np.ndarray:
    a = rng.uniform(0.0, 2.0 * math.pi, k)
    return np.column_stack([radius * np.cos(a), radius * np.sin(a)])


def _circles(rng: np.random.Generator, n0: int, n1: int, noise: float):
    outer, inner = _ring(rng, n0, OUTER_RADIUS), _ring(rng, n1, INNER_RADIUS)
    return _classes(_noisy(rng, outer, noise), _noisy(rng, inner, noise))


def _moons(rng: np.random.Generator, n0: int, n1: int, noise: float):
    # two unit half circles: the upper one centred at (0, 0), the lower one at (1, 0.5)
    # and turned over, so each reaches into the other's mouth; then the picture (x from
    # −1 to 2, y from −0.5 to 1) is moved so its centre is the origin
    t0, t1 = rng.uniform(0.0, math.pi, n0), rng.uniform(0.0, math.pi, n1)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])
    shift = np.array([0.5, 0.25])
    return _classes(_noisy(rng, upper - shift, noise), _noisy(rng, lower - shift, noise))


def _arm(rng: np.random.Generator, k: int, phase: float) -> np.ndarray:
    t = rng.uniform(0.0, 1.0, k)
    r, a = SPIRAL_R0 + SPIRAL_DR * t, SPIRAL_TURN * t + phase
    return np.column_stack([r * np.cos(a), r * np.sin(a)])


def _spirals(rng: np.random.Generator, n0: int, n1: int, noise: float):
    a0, a1 = _arm(rng, n0, 0.0), _arm(rng, n1, math.pi)
    return _classes(_noisy(rng, a0, noise), _noisy(rng, a1, noise))


def _gaussians(rng: np.random.Generator, n0: int, n1: int, noise: float):
    # noise widens the blobs: spread and noise add as independent normals do
    sd = math.hypot(BLOB_SPREAD, noise)
    b0 = rng.normal(-BLOB_CENTRE, sd, (n0, 2))
    b1 = rng.normal(BLOB_CENTRE, sd, (n1, 2))
    return _classes(b0, b1)


def _regression(f: Callable[[np.ndarray], np.ndarray]):
    def make(rng: np.random.Generator, n: int, noise: float):
        x = rng.uniform(-1.0, 1.0, n)
        y = f(x)
        return x, (y + rng.normal(0.0, noise, n) if noise > 0 else y)
    return make


_CLASSIFIERS = {"xor": _xor, "circles": _circles, "moons": _moons, "spirals": _spirals,
                "gaussians": _gaussians}
_REGRESSORS = {"linear": _regression(lambda x: LINEAR_SLOPE * x + LINEAR_INTERCEPT),
               "sine": _regression(lambda x: np.sin(math.pi * x))}


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise DataError(f"{what} must be a whole number, not {quote(repr(value))}")
    return int(value)


def _real(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise DataError(f"{what} must be a number, not {quote(repr(value))}")
    v = float(value)
    if not math.isfinite(v):
        raise DataError(f"{what} must be a finite number, not {v}")
    return v


def split_size(n: int, test_fraction: float) -> int:
    """How many of n rows a split holds out: n·f rounded half up (not Python's round,
    which rounds 2.5 to 2), leaving at least one row to train on."""
    return max(0, min(math.floor(n * test_fraction + 0.5), n - 1))


def generate(kind: str, n: int | None = None, noise: float = 0.1, seed: int = 0,
             test_fraction: float = 0.0) -> Dataset:
    """A built-in toy dataset (see the module docstring for what all of them share).

    ``n`` defaults to the generator's own (GENERATORS). XOR: n = 4 is exactly the truth
    table (0,0)→0, (0,1)→1, (1,0)→1, (1,1)→0 in that order, whatever ``noise`` says (and
    its origin records noise 0), because four noisy points no longer teach XOR; for n > 4
    each label's rows alternate between its two corners with Gaussian noise added, so the
    points stay clustered around the same four corners of [0, 1]². Raises DataError for
    an unknown generator or an argument out of range."""
    name = kind.strip().lower() if isinstance(kind, str) else None
    if name not in GENERATORS:
        raise DataError(f"unknown dataset generator {quote(str(kind))}: "
                        f"choose one of {_choices()}")
    n = GENERATORS[name][1] if n is None else _whole(n, "n")
    if n < _MIN_N[name]:
        why = {1: "", 2: " (a row of each label)", 4: " (a row at each corner)"}[_MIN_N[name]]
        raise DataError(f"{name} needs n ≥ {_MIN_N[name]}{why}, not {n}")
    if n > MAX_ROWS:
        raise DataError(f"n = {n:,} is more than the {MAX_ROWS:,} rows a dataset may have")
    noise = _real(noise, "noise")
    if not 0 <= noise <= MAX_NOISE:
        raise DataError(f"noise must be ≥ 0 and at most {MAX_NOISE:,}, not {noise}")
    seed = _whole(seed, "seed")
    if seed < 0:
        raise DataError(f"seed must be ≥ 0, not {seed}")
    f = _real(test_fraction, "the test fraction")
    if not 0.0 <= f < 1.0:
        raise DataError(f"the test fraction must be at least 0 and less than 1, not {f}")

    rng = np.random.default_rng(seed)
    if name == "xor" and n == 4:
        noise = 0.0
    if name in _CLASSIFIERS:
        pts, y = _CLASSIFIERS[name](rng, n // 2, n - n // 2, noise)
        if name == "xor" and n == 4:  # the truth table's order, not label order
            pts, y = pts[[0, 2, 3, 1]], y[[0, 2, 3, 1]]
        columns = {"x1": pts[:, 0], "x2": pts[:, 1], TARGET: y}
    else:
        x, y = _REGRESSORS[name](rng, n, noise)
        columns = {"x": x, TARGET: y}
    test = np.zeros(n, dtype=bool)
    test[rng.permutation(n)[:split_size(n, f)]] = True
    origin = {"generator": name, "n": n, "noise": noise, "seed": seed, "test_fraction": f}
    return Dataset(columns, test, name=name, origin=origin)


# ------------------------------------------------------------------ spec text

#: spec key → (generate's argument, how to read the value, how to describe it)
_SPEC_KEYS: dict[str, tuple[str, Callable[[str], Any], str]] = {
    "n": ("n", int, "a whole number"),
    "noise": ("noise", float, "a number"),
    "seed": ("seed", int, "a whole number"),
    "test": ("test_fraction", float, "a number"),
}


def parse_spec(spec: str) -> Dataset:
    """``moons:n=200,noise=0.1,seed=1,test=0.2`` → the generated dataset; a bare
    ``xor`` takes every default. A compact form for the command line and for files:
    errors name the offending part and list what is valid."""
    if not isinstance(spec, str):
        raise DataError(f"a dataset spec must be text, not {type(spec).__name__}")
    head, _, rest = spec.partition(":")
    name = head.strip().lower()
    if name not in GENERATORS:
        raise DataError(f"unknown dataset generator {quote(head.strip())} in "
                        f"{quote(spec)}: choose one of {_choices()}")
    kwargs: dict[str, Any] = {}
    for item in rest.split(",") if rest.strip() else ():
        key, eq, value = (s.strip() for s in item.partition("="))
        if key not in _SPEC_KEYS:
            raise DataError(f"unknown key {quote(key)} in {quote(spec)}: the keys are "
                            f"{', '.join(_SPEC_KEYS)} (as key=value, separated by commas)")
        if not eq:
            raise DataError(f"{key} has no value in {quote(spec)}: write {key}=…")
        arg, read, what = _SPEC_KEYS[key]
        if arg in kwargs:
            raise DataError(f"{key} is given twice in {quote(spec)}")
        try:
            kwargs[arg] = read(value)
        except ValueError:
            raise DataError(f"{key} must be {what}, not {quote(value)}") from None
    return generate(name, **kwargs)


# ------------------------------------------------------------------ CSV import

def _read_text(path: str | Path, name: str) -> str:
    try:
        size = os.stat(path).st_size
        if size > MAX_CSV_BYTES:
            raise DataError(f"{name} is {size / 2**20:,.0f} MB: larger than the "
                            f"{MAX_CSV_BYTES // 2**20} MB a CSV file may be")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CSV_BYTES + 1)
    except OSError as e:
        raise DataError(f"cannot read {name}: {e.strerror or e}") from None
    if len(raw) > MAX_CSV_BYTES:  # grew since stat
        raise DataError(f"{name} is larger than the {MAX_CSV_BYTES // 2**20} MB "
                        "a CSV file may be")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise DataError(f"{name}: line {line}: the file is not UTF-8 text "
                        f"(byte {e.start + 1})") from None


def _check_header(header: list[str], line: int, name: str) -> list[str]:
    names = [h.strip() for h in header]
    seen: dict[str, int] = {}
    for j, h in enumerate(names, 1):
        where = f"{name}: line {line}, column {j}"
        if not h:
            raise DataError(f"{where}: the header is empty: every column needs a name")
        if len(h) > MAX_NAME:
            raise DataError(f"{where}: the header {quote(h)} is too long ({len(h):,} "
                            f"characters; at most {MAX_NAME})")
        if not is_valid_name(h):
            hint = ""
            if len(names) == 1 and any(c in h for c in ";\t|"):
                hint = " (cells must be separated by commas)"
            raise DataError(f"{where}: the header {quote(h)} is not a valid name: use "
                            f"letters, digits and _, not starting with a digit{hint}")
        if h in RESERVED:
            raise DataError(f"{where}: the header {quote(h)} is the name of an op: "
                            "rename the column")
        if h in seen:
            raise DataError(f"{where}: the header {quote(h)} repeats column {seen[h]}")
        seen[h] = j
    return names


def _cell_problem(cell: str) -> str:
    """Why a cell is not a value: empty, not a number, or not finite."""
    s = cell.strip()
    if not s:
        return "the cell is empty"
    try:
        v = float(s)
    except ValueError:
        return f"{quote(s)} is not a number"
    if "inf" in s.lower() or "nan" in s.lower():
        return f"{quote(s)} is not a finite number"
    return f"{quote(s)} is too large: it reads as {v}, not a finite number"


def read_csv(path: str | Path, text: str | None = None) -> Dataset:
    """A CSV file of numbers → a Dataset of its columns (all rows train, none test).

    The first non-blank row is the header: names are stripped of spaces and must be
    unique valid node names (identifiers, not an op's name) so an expression can use
    them. Every other cell must be a finite number (spaces around it allowed). Blank
    lines are skipped wherever they are. ``text`` stands in for the file's content
    (then ``path`` only names it); otherwise the file is read as UTF-8, with or without
    a byte-order mark. Every error is a DataError naming the line (1-based, in the file)
    and the column (number and header). A broken row (too few or too many cells) is
    reported as soon as it is met; bad cells after the whole file is read, so a column
    with no number at all is reported as such rather than by its first cell."""
    name = Path(path).name or str(path)
    if text is None:
        text = _read_text(path, name)
    else:
        if len(text) > MAX_CSV_BYTES:
            raise DataError(f"{name} is larger than the {MAX_CSV_BYTES // 2**20} MB "
                            "a CSV file may be")
        text = text.removeprefix("\ufeff")

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] = []
    flat = array("d")  # the values row after row: 8 bytes each, not a float object
    n_rows = 0
    first_bad: dict[int, tuple[int, str]] = {}  # column → its first bad cell (line, text)
    text_cells: list[int] = []  # per column: how many cells are not numbers at all
    example: dict[int, tuple[int, str]] = {}  # column → its first non-empty such cell
    last = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            hint = " (a quoted cell is not closed)" if "end of data" in str(e) else ""
            raise DataError(f"{name}: line {last + 1}: {e}{hint}") from None
        line, last = last + 1, reader.line_num  # where the row starts
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line
        if not header:
            header = _check_header(row, line, name)
            text_cells = [0] * len(header)
            continue
        if len(row) != len(header):
            few = "too few" if len(row) < len(header) else "too many"
            raise DataError(f"{name}: line {line}: {few} cells: expected {len(header)} "
                            f"({clip(', '.join(header))}), got {len(row)}")
        if n_rows == MAX_ROWS:
            raise DataError(f"{name}: line {line}: more than {MAX_ROWS:,} data rows")
        try:
            values = [float(c) for c in row]
        except ValueError:
            values = []
            for j, c in enumerate(row):
                try:
                    values.append(float(c))
                except ValueError:
                    values.append(math.nan)
                    text_cells[j] += 1
                    first_bad.setdefault(j, (line, c))
                    if c.strip():
                        example.setdefault(j, (line, c.strip()))
        if not all(map(math.isfinite, values)):
            for j, c in enumerate(row):
                if not math.isfinite(values[j]):
                    first_bad.setdefault(j, (line, c))
        flat.extend(values)
        n_rows += 1

    if not header:
        raise DataError(f"{name}: the file is empty: expected a header row of column "
                        "names, then rows of numbers")
    if not n_rows:
        raise DataError(f"{name}: there are no data rows after the header "
                        f"({clip(', '.join(header))})")
    for j, count in enumerate(text_cells):
        if count == n_rows:
            where = f"{name}: column {j + 1} ({header[j]})"
            if j not in example:
                raise DataError(f"{where} is empty on every row")
            line, cell = example[j]
            raise DataError(f"{where} is not numeric: line {line} holds {quote(cell)}")
    if first_bad:
        j, (line, cell) = min(first_bad.items(), key=lambda kv: (kv[1][0], kv[0]))
        raise DataError(f"{name}: line {line}, column {j + 1} ({header[j]}): "
                        f"{_cell_problem(cell)}")
    data = np.frombuffer(flat, dtype=np.float64).reshape(n_rows, len(header))
    columns = {h: data[:, j] for j, h in enumerate(header)}  # Dataset copies them
    return Dataset(columns, np.zeros(n_rows, dtype=bool), name=name,
                   origin={"csv": str(path)})
