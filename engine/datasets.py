"""Built-in dataset generators and CSV import (interface; being implemented)."""

from __future__ import annotations

from pathlib import Path

from engine.dataset import DataError, Dataset  # noqa: F401  (re-exported)

#: generator name → (kind, default n): classification generators write labels 0/1
GENERATORS: dict[str, tuple[str, int]] = {
    "xor": ("classification", 4), "circles": ("classification", 200),
    "moons": ("classification", 200), "spirals": ("classification", 200),
    "gaussians": ("classification", 200), "linear": ("regression", 100),
    "sine": ("regression", 100),
}


def generate(kind: str, n: int | None = None, noise: float = 0.1, seed: int = 0,
             test_fraction: float = 0.0) -> Dataset:
    raise NotImplementedError


def parse_spec(spec: str) -> Dataset:
    """``moons:n=200,noise=0.1,seed=1,test=0.2`` → the generated dataset."""
    raise NotImplementedError


def read_csv(path: str | Path, text: str | None = None) -> Dataset:
    raise NotImplementedError
