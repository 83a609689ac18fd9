"""The file loader's plain structural pre-check never lets through what the schema
refuses: it may only answer "certainly valid" for documents the JSON-schema validator
accepts (anything else goes to that validator, which words the error as before)."""

from __future__ import annotations

import copy
import json
import random

import jsonschema
import pytest

from engine.fileformat import SCHEMA_PATH
from engine.fileformat import _plainly_valid  # the fast path under test is internal

from _engine_helpers import mutate_object

VALID = {
    "format": "chain-rule-studio", "version": 1, "note": "two layers", "output": "n3",
    "nodes": [
        {"id": "n1", "name": "x", "op": "input", "value": 2, "pos": [0, 0]},
        {"id": "n2", "name": "w", "op": "param", "value": 0.5, "pos": [0.5, 120]},
        {"id": "n3", "name": "h", "op": "mul", "pos": [260, 40]},
        {"id": "n4", "name": "c", "op": "const", "value": -1.5},
    ],
    "edges": [{"source": "n1", "target": "n3", "port": "a"},
              {"source": "n2", "target": "n3", "port": "b"}],
}

ODD = [None, True, False, 0, 1, 1.0, -2.5, "", "x", "n 1", "a" * 33, "é", [], [1], [1, 2],
       [1, 2, 3], ["a", "b"], [True, 1], {}, {"a": 1}]


def mutations(rnd: random.Random, doc: dict) -> dict:
    d = copy.deepcopy(doc)
    for _ in range(rnd.randint(1, 3)):
        target = rnd.choice(["top", "node", "edge"])
        if target == "top":
            obj = d
        elif target == "node" and d.get("nodes") and isinstance(d["nodes"], list):
            obj = rnd.choice(d["nodes"])
        elif isinstance(d.get("edges"), list) and d["edges"]:
            obj = rnd.choice(d["edges"])
        else:
            obj = d
        if not isinstance(obj, dict):
            continue
        mutate_object(rnd, obj, ODD, ["extra", "value", "pos", "note", "id", "op"])
    return d


_SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def schema_ok(doc) -> bool:
    """The published schema's verdict, by the JSON-schema library itself."""
    return jsonschema.validators.validator_for(_SCHEMA)(_SCHEMA).is_valid(doc)


def test_a_plain_valid_file_takes_the_fast_path() -> None:
    assert schema_ok(VALID) and _plainly_valid(VALID)


@pytest.mark.parametrize("seed", range(20))
def test_fast_check_never_accepts_what_the_schema_refuses(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(150):
        doc = mutations(rnd, VALID)
        if _plainly_valid(doc):
            assert schema_ok(doc), doc
