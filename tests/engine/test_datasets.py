"""Built-in generators and CSV import (engine.datasets).

Expected values come from the generators' stated geometry (a ring of radius 0.5, a
half circle centred at (−0.5, −0.25), y = 1.5x + 0.5, …) and from hand-written files,
never from running the generators and pasting their output.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import datasets
from engine.dataset import DataError, Dataset
from engine.datasets import GENERATORS, generate, parse_spec, read_csv

CLASSIFIERS = ["xor", "circles", "moons", "spirals", "gaussians"]
REGRESSORS = ["linear", "sine"]
ALL = CLASSIFIERS + REGRESSORS


def _same(a: Dataset, b: Dataset) -> bool:
    return (a.names == b.names and np.array_equal(a.test, b.test)
            and all(np.array_equal(a.columns[k], b.columns[k]) for k in a.names))


# ------------------------------------------------------------------ generators

def test_the_registry_lists_the_seven_generators_with_their_kind() -> None:
    assert GENERATORS == {
        "xor": ("classification", 4), "circles": ("classification", 200),
        "moons": ("classification", 200), "spirals": ("classification", 200),
        "gaussians": ("classification", 200), "linear": ("regression", 100),
        "sine": ("regression", 100)}


@pytest.mark.parametrize("kind", ALL)
def test_a_seed_gives_the_same_arrays_and_another_seed_others(kind: str) -> None:
    a = generate(kind, n=40, noise=0.2, seed=3, test_fraction=0.25)
    b = generate(kind, n=40, noise=0.2, seed=3, test_fraction=0.25)
    c = generate(kind, n=40, noise=0.2, seed=4, test_fraction=0.25)
    assert _same(a, b)
    assert not _same(a, c)
    assert not np.array_equal(a.columns["y" if kind in REGRESSORS else "x1"],
                              c.columns["y" if kind in REGRESSORS else "x1"])


@pytest.mark.parametrize("kind", ALL)
def test_size_names_origin_and_finite_values(kind: str) -> None:
    d = generate(kind, n=101, noise=0.1, seed=5, test_fraction=0.1)
    assert d.n_rows == 101
    assert d.names == (["x", "y"] if kind in REGRESSORS else ["x1", "x2", "y"])
    assert d.name == kind
    assert d.origin == {"generator": kind, "n": 101, "noise": 0.1, "seed": 5,
                        "test_fraction": 0.1}
    for col in d.columns.values():
        assert col.dtype == np.float64 and np.all(np.isfinite(col))
        assert np.all(np.abs(col) < 3.0)  # tanh-friendly scale


@pytest.mark.parametrize("kind", CLASSIFIERS)
@pytest.mark.parametrize("n", [4, 5, 101, 200])
def test_classification_labels_are_exactly_0_and_1_and_balanced(kind: str, n: int) -> None:
    y = generate(kind, n=n, seed=2).columns["y"]
    assert set(y.tolist()) == {0.0, 1.0}
    assert int(np.sum(y == 0.0)) == n // 2
    assert int(np.sum(y == 1.0)) == n - n // 2


@pytest.mark.parametrize("kind, n", [("xor", 4), ("circles", 200), ("moons", 200),
                                     ("spirals", 200), ("gaussians", 200),
                                     ("linear", 100), ("sine", 100)])
def test_default_sizes(kind: str, n: int) -> None:
    assert generate(kind).n_rows == n


@pytest.mark.parametrize("n, f, expected", [
    (200, 0.2, 40), (10, 0.25, 3),  # 2.5 rounds half up, not to even
    (7, 0.5, 4), (100, 0.333, 33), (4, 0.25, 1),
    (3, 0.9, 2),  # 2.7 → 3 would leave nothing to train on
    (1, 0.5, 0), (50, 0.0, 0)])
def test_the_split_holds_out_n_f_rounded_half_up_and_keeps_a_training_row(
        n: int, f: float, expected: int) -> None:
    d = generate("sine", n=n, seed=9, test_fraction=f)
    assert int(d.test.sum()) == expected
    train, test = set(d.rows("train").tolist()), set(d.rows("test").tolist())
    assert not train & test
    assert train | test == set(range(n))
    assert len(train) >= 1


def test_the_split_is_drawn_after_the_data_so_it_never_moves_a_point() -> None:
    a = generate("moons", n=60, noise=0.2, seed=1, test_fraction=0.0)
    b = generate("moons", n=60, noise=0.2, seed=1, test_fraction=0.5)
    assert not a.test.any() and b.test.sum() == 30
    for k in a.names:
        assert np.array_equal(a.columns[k], b.columns[k])


def test_xor_of_four_points_is_the_truth_table_whatever_the_noise_and_seed() -> None:
    table = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float)
    for d in (generate("xor"), parse_spec("xor"), generate("xor", n=4, noise=0.7, seed=11)):
        got = np.column_stack([d.columns["x1"], d.columns["x2"], d.columns["y"]])
        assert np.array_equal(got, table)
        assert d.origin["noise"] == 0.0
        assert not d.test.any()


def test_xor_beyond_four_points_clusters_around_the_four_corners() -> None:
    d = generate("xor", n=10, noise=0.0)
    corners = {(0.0, 0.0): 0.0, (1.0, 1.0): 0.0, (0.0, 1.0): 1.0, (1.0, 0.0): 1.0}
    seen = set()
    for x1, x2, y in zip(d.columns["x1"], d.columns["x2"], d.columns["y"]):
        assert corners[(x1, x2)] == y
        seen.add((x1, x2))
    assert seen == set(corners)
    noisy = generate("xor", n=4000, noise=0.1, seed=0)
    # distance to the nearest corner along x1 is the noise (sd 0.1 ≪ the corners' gap 1)
    off = noisy.columns["x1"] - np.round(noisy.columns["x1"])
    assert abs(off.std() - 0.1) < 0.01


def test_circles_without_noise_lie_on_radius_half_and_one() -> None:
    d = generate("circles", n=50, noise=0.0, seed=4)
    r = np.hypot(d.columns["x1"], d.columns["x2"])
    y = d.columns["y"]
    assert np.allclose(r[y == 1.0], 0.5, rtol=0, atol=1e-12)
    assert np.allclose(r[y == 0.0], 1.0, rtol=0, atol=1e-12)


def test_moons_without_noise_are_two_interleaved_unit_half_circles() -> None:
    d = generate("moons", n=400, noise=0.0, seed=6)
    x1, x2, y = d.columns["x1"], d.columns["x2"], d.columns["y"]
    up, lo = y == 0.0, y == 1.0
    # upper: centre (−0.5, −0.25), the top half; lower: centre (0.5, 0.25), the bottom half
    assert np.allclose(np.hypot(x1[up] + 0.5, x2[up] + 0.25), 1.0, atol=1e-12)
    assert np.all(x2[up] >= -0.25 - 1e-12)
    assert np.allclose(np.hypot(x1[lo] - 0.5, x2[lo] - 0.25), 1.0, atol=1e-12)
    assert np.all(x2[lo] <= 0.25 + 1e-12)
    # centred: the picture spans x1 ∈ [−1.5, 1.5], x2 ∈ [−0.75, 0.75]
    assert x1.min() >= -1.5 - 1e-12 and x1.max() <= 1.5 + 1e-12
    assert x2.min() >= -0.75 - 1e-12 and x2.max() <= 0.75 + 1e-12
    # interleaved: each moon's tip reaches into the other's mouth (the tips (0.5, −0.25)
    # and (−0.5, 0.25) are 0.5 from the other circle's centre, well inside radius 1)
    assert np.hypot(x1[up] - 0.5, x2[up] - 0.25).min() < 0.6
    assert np.hypot(x1[lo] + 0.5, x2[lo] + 0.25).min() < 0.6


def test_spirals_without_noise_are_two_arms_half_a_turn_apart() -> None:
    d = generate("spirals", n=300, noise=0.0, seed=8)
    x1, x2, y = d.columns["x1"], d.columns["x2"], d.columns["y"]
    r = np.hypot(x1, x2)
    assert np.all((r >= 0.2 - 1e-12) & (r <= 1.8 + 1e-12))
    t = (r - 0.2) / 1.6                      # r = 0.2 + 1.6·t
    angle = np.arctan2(x2, x1)
    for label, phase in ((0.0, 0.0), (1.0, math.pi)):
        sel = y == label
        expected = 3 * math.pi * t[sel] + phase    # 1.5 turns over t ∈ [0, 1]
        diff = np.angle(np.exp(1j * (angle[sel] - expected)))  # wrapped to (−π, π]
        assert np.allclose(diff, 0.0, atol=1e-9)


def test_gaussians_are_two_blobs_around_minus_one_and_plus_one() -> None:
    d = generate("gaussians", n=4000, noise=0.0, seed=3)
    y = d.columns["y"]
    for label, centre in ((0.0, -1.0), (1.0, 1.0)):
        for c in ("x1", "x2"):
            v = d.columns[c][y == label]
            assert abs(v.mean() - centre) < 0.05    # sd 0.4 / √2000 ≈ 0.009
            assert abs(v.std() - 0.4) < 0.03
    wide = generate("gaussians", n=4000, noise=0.3, seed=3)
    v = wide.columns["x1"][wide.columns["y"] == 0.0]
    assert abs(v.std() - 0.5) < 0.03             # √(0.4² + 0.3²)


@pytest.mark.parametrize("kind, f", [("linear", lambda x: 1.5 * x + 0.5),
                                     ("sine", lambda x: np.sin(np.pi * x))])
def test_regression_targets_follow_their_curve_plus_the_noise(kind, f) -> None:
    d = generate(kind, n=200, noise=0.0, seed=1)
    x = d.columns["x"]
    assert np.all((x >= -1) & (x <= 1))
    assert np.allclose(d.columns["y"], f(x), rtol=0, atol=1e-12)
    noisy = generate(kind, n=20000, noise=0.3, seed=1)
    res = noisy.columns["y"] - f(noisy.columns["x"])
    assert abs(res.mean()) < 0.01 and abs(res.std() - 0.3) < 0.01


@pytest.mark.parametrize("args, message", [
    (("blobs",), "unknown dataset generator 'blobs': choose one of xor, circles, moons, "
                 "spirals, gaussians, linear, sine"),
    (("moons", 0), "moons needs n ≥ 2"),
    (("moons", 1), "moons needs n ≥ 2"),
    (("xor", 3), "xor needs n ≥ 4"),
    (("sine", 0), "sine needs n ≥ 1"),
    (("sine", 1_000_001), "more than the 1,000,000 rows"),
    (("sine", 2.5), "n must be a whole number"),
    (("sine", True), "n must be a whole number"),
    (("sine", 10, -0.1), "noise must be ≥ 0 and at most 1,000,000, not -0.1"),
    (("sine", 10, 1e7), "noise must be ≥ 0 and at most 1,000,000"),
    ((None,), "unknown dataset generator 'None'"),
    (("sine", 10, math.inf), "noise must be a finite number"),
    (("sine", 10, math.nan), "noise must be a finite number"),
    (("sine", 10, 0.1, -1), "seed must be ≥ 0"),
    (("sine", 10, 0.1, 1.5), "seed must be a whole number"),
    (("sine", 10, 0.1, 0, 1.0), "test fraction must be at least 0 and less than 1"),
    (("sine", 10, 0.1, 0, -0.1), "test fraction must be at least 0 and less than 1"),
    (("sine", 10, 0.1, 0, math.nan), "test fraction must be a finite number"),
])
def test_bad_arguments_are_refused_clearly(args: tuple, message: str) -> None:
    with pytest.raises(DataError, match=None) as e:
        generate(*args)
    assert message in str(e.value)


def test_a_large_n_is_allowed_up_to_the_cap() -> None:
    assert generate("linear", n=1_000_000, noise=0.0).n_rows == 1_000_000


# ------------------------------------------------------------------ spec text

def test_a_spec_sets_every_argument() -> None:
    d = parse_spec("moons:n=200,noise=0.1,seed=1,test=0.2")
    assert _same(d, generate("moons", n=200, noise=0.1, seed=1, test_fraction=0.2))
    assert d.origin == {"generator": "moons", "n": 200, "noise": 0.1, "seed": 1,
                        "test_fraction": 0.2}
    assert d.test.sum() == 40


def test_a_spec_tolerates_spaces_and_case_and_takes_defaults() -> None:
    assert _same(parse_spec(" Circles : seed = 2 , n = 30 "), generate("circles", 30, seed=2))
    assert _same(parse_spec("sine"), generate("sine"))
    assert _same(parse_spec("sine:"), generate("sine"))


@pytest.mark.parametrize("spec, message", [
    ("blobs:n=3", "unknown dataset generator 'blobs' in 'blobs:n=3': choose one of xor, "
                  "circles, moons, spirals, gaussians, linear, sine"),
    ("moons:size=3", "unknown key 'size' in 'moons:size=3': the keys are n, noise, seed, "
                     "test"),
    ("moons:n=abc", "n must be a whole number, not 'abc'"),
    ("moons:n=2.5", "n must be a whole number, not '2.5'"),
    ("moons:noise=lots", "noise must be a number, not 'lots'"),
    ("moons:test=", "test must be a number, not ''"),
    ("moons:seed", "seed has no value"),
    ("moons:n=3,n=4", "n is given twice"),
    ("moons:test=1", "the test fraction must be at least 0 and less than 1"),
    ("moons:n=1", "moons needs n ≥ 2"),
])
def test_bad_specs_name_the_problem(spec: str, message: str) -> None:
    with pytest.raises(DataError) as e:
        parse_spec(spec)
    assert message in str(e.value)


# ------------------------------------------------------------------ CSV import

def _error(text: str, name: str = "points.csv") -> str:
    with pytest.raises(DataError) as e:
        read_csv(name, text=text)
    return str(e.value)


def test_a_csv_file_round_trips_numbers_exactly(tmp_path) -> None:
    values = [[0.1, -2.5, 1e-300], [5e-324, 1.7976931348623157e308, -0.0],
              [123456789.123456789, 2.0 / 3.0, -7.0], [1e22, 3.141592653589793, 0.0]]
    path = tmp_path / "points.csv"
    path.write_text("a,b,c\n" + "".join(",".join(repr(v) for v in row) + "\n"
                                         for row in values), encoding="utf-8")
    d = read_csv(path)
    assert d.names == ["a", "b", "c"] and d.n_rows == 4
    for j, col in enumerate(("a", "b", "c")):
        got = d.columns[col].tolist()
        want = [row[j] for row in values]
        assert got == want
        assert [math.copysign(1, v) for v in got] == [math.copysign(1, v) for v in want]
    assert d.name == "points.csv"
    assert d.origin == {"csv": str(path)}
    assert not d.test.any()


def test_bom_crlf_spaces_quotes_and_blank_lines_are_accepted(tmp_path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes("\ufeff x1 , x2,y \r\n 1 ,\"2\", 3\r\n\r\n-4,5e-1,+6\r\n\r\n\r\n"
                     .encode("utf-8"))
    d = read_csv(str(path))
    assert d.names == ["x1", "x2", "y"]
    assert d.columns["x1"].tolist() == [1.0, -4.0]
    assert d.columns["x2"].tolist() == [2.0, 0.5]
    assert d.columns["y"].tolist() == [3.0, 6.0]
    assert d.origin == {"csv": str(path)} and d.name == "data.csv"


def test_given_text_stands_in_for_the_file_which_only_names_it() -> None:
    d = read_csv("some/folder/mine.csv", text="\ufeffx,y\n1,2\n")
    assert d.name == "mine.csv" and d.origin == {"csv": "some/folder/mine.csv"}
    assert d.columns["x"].tolist() == [1.0] and d.columns["y"].tolist() == [2.0]


def test_a_bad_cell_names_its_line_and_column() -> None:
    text = "x1,x2,y\n" + "1,2,0\n" * 5 + "3,abc,1\n" + "4,5,1\n"
    assert _error(text) == "points.csv: line 7, column 2 (x2): 'abc' is not a number"


def test_line_numbers_count_blank_lines_and_quoted_line_breaks() -> None:
    text = 'a,b\n\n"1\n",2\nx,3\n'  # the quoted cell spans lines 3-4, so x is on line 5
    assert _error(text) == "points.csv: line 5, column 1 (a): 'x' is not a number"


def test_nothing_in_a_cell_is_ever_run() -> None:
    msg = _error("a,b\n1,__import__('os').system('false')\n2,3\n")
    assert msg.startswith("points.csv: line 2, column 2 (b): \"__import__('os')")
    assert msg.endswith("is not a number")


@pytest.mark.parametrize("text, message", [
    ("x1,x2,y\n1,2,3\n4,5\n", "points.csv: line 3: too few cells: expected 3 (x1, x2, y), "
                              "got 2"),
    ("x1,x2,y\n1,2,3,4\n", "points.csv: line 2: too many cells: expected 3 (x1, x2, y), "
                           "got 4"),
    ("x1,x2,y\n1,2,3,\n", "points.csv: line 2: too many cells: expected 3 (x1, x2, y), "
                          "got 4"),
])
def test_a_ragged_row_says_expected_and_got(text: str, message: str) -> None:
    assert _error(text) == message


@pytest.mark.parametrize("text", ["", "\ufeff", "\n\n  \n"])
def test_an_empty_file_is_refused(text: str) -> None:
    assert _error(text).startswith("points.csv: the file is empty")


def test_a_header_without_rows_is_refused() -> None:
    assert _error("x1,x2,y\n\n") == ("points.csv: there are no data rows after the header "
                                     "(x1, x2, y)")


def test_a_column_of_words_is_reported_as_not_numeric() -> None:
    text = "x1,label,y\n1,cat,0\n2,dog,1\n3,,1\n"
    assert _error(text) == "points.csv: column 2 (label) is not numeric: line 2 holds 'cat'"
    assert _error("x1,z\n1,\n2, \n") == "points.csv: column 2 (z) is empty on every row"


@pytest.mark.parametrize("cell, problem", [
    ("nan", "'nan' is not a finite number"),
    ("inf", "'inf' is not a finite number"),
    (" -Infinity ", "'-Infinity' is not a finite number"),
    ("1e999", "'1e999' is too large: it reads as inf, not a finite number"),
    ("", "the cell is empty"),
    ("  ", "the cell is empty"),
    ("1.2.3", "'1.2.3' is not a number"),
])
def test_non_finite_and_empty_cells_are_refused(cell: str, problem: str) -> None:
    text = f"a,b\n1,2\n3,{cell}\n"
    assert _error(text) == f"points.csv: line 3, column 2 (b): {problem}"


def test_the_first_bad_cell_in_reading_order_is_reported() -> None:
    text = "a,b,c\n1,2,3\n4,5,x\n6,y,7\n"
    assert _error(text) == "points.csv: line 3, column 3 (c): 'x' is not a number"


@pytest.mark.parametrize("header, message", [
    ("x1,,y", "points.csv: line 1, column 2: the header is empty"),
    ("x1,2x,y", "points.csv: line 1, column 2: the header '2x' is not a valid name"),
    ("x1,my col,y", "points.csv: line 1, column 2: the header 'my col' is not a valid name"),
    ("x1,class,y", "points.csv: line 1, column 2: the header 'class' is not a valid name"),
    ("x1,x2,x1", "points.csv: line 1, column 3: the header 'x1' repeats column 1"),
    ("x1, x1 ,y", "points.csv: line 1, column 2: the header 'x1' repeats column 1"),
    ("x1," + "w" * 201 + ",y", "points.csv: line 1, column 2: the header 'www"),
    ("x1,tanh,y", "points.csv: line 1, column 2: the header 'tanh' is the name of an op"),
    ("x1;x2;y", "(cells must be separated by commas)"),
])
def test_bad_headers_are_refused(header: str, message: str) -> None:
    assert message in _error(header + "\n1,2,3\n")


def test_an_unclosed_quote_is_refused_with_its_line() -> None:
    # the quote opens on line 3 and is still open at the end of the file
    assert _error('a,b\n1,2\n3,"4\n\n5,6\n') == ("points.csv: line 3: unexpected end of data "
                                          "(a quoted cell is not closed)")


def test_a_file_that_is_not_utf8_is_refused_with_its_line(tmp_path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"a,b\n1,2\n3,\xe9\n")
    assert str(_raises(read_csv, path)).startswith("latin.csv: line 3: the file is not UTF-8")


def test_a_missing_file_is_a_data_error(tmp_path) -> None:
    assert "cannot read nothing.csv" in str(_raises(read_csv, tmp_path / "nothing.csv"))


def test_too_many_rows_and_too_large_files_are_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(datasets, "MAX_ROWS", 3)
    assert read_csv("p.csv", text="a\n1\n2\n3\n").n_rows == 3
    assert _error("a\n1\n2\n3\n4\n") == "points.csv: line 5: more than 3 data rows"
    monkeypatch.setattr(datasets, "MAX_CSV_BYTES", 10)
    path = tmp_path / "big.csv"
    path.write_text("a\n" + "1\n" * 10, encoding="utf-8")
    assert "larger than" in str(_raises(read_csv, path))


def _raises(fn, *args) -> DataError:
    with pytest.raises(DataError) as e:
        fn(*args)
    return e.value
