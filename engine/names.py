"""Node names: what is allowed, how temporaries are named, and how names are shown.

Names are Python identifiers so every graph can be written back as an expression.
"""

from __future__ import annotations

import keyword
import re
import unicodedata

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η",
    "theta": "θ", "lambda_": "λ", "lam": "λ", "mu": "μ", "sigma": "σ", "tau": "τ",
    "phi": "φ", "omega": "ω", "pi": "π", "rho": "ρ", "xi": "ξ", "zeta": "ζ", "kappa": "κ",
}
_NAME_DIGITS = re.compile(r"^(.*?[^\d_])_?(\d+)$")
#: the longest name a node may have (the file schema's maxLength): enforced by
#: ``Graph._check_name`` for every way a name enters a graph
MAX_NAME = 200
_SURROGATE = re.compile("[\ud800-\udfff]")


def is_valid_name(name: str) -> bool:
    """An identifier Python reads back unchanged: its tokenizer NFKC-normalises names
    (``ﬁ`` → ``fi``), so only already-normal names survive an expression round trip;
    and at most MAX_NAME characters, so every file can hold it."""
    return (isinstance(name, str) and len(name) <= MAX_NAME and name.isidentifier()
            and not keyword.iskeyword(name)
            # ASCII is unchanged by NFKC: most names skip the normalisation
            and (name.isascii() or unicodedata.normalize("NFKC", name) == name))


def repair_text(text: str) -> str:
    """``text`` with every lone surrogate (``"\\ud800"`` from a JSON escape or a
    clipboard) replaced by U+FFFD, so it can always be written as UTF-8."""
    if not isinstance(text, str):
        raise TypeError("a note must be text")
    return _SURROGATE.sub("\ufffd", text)


def split_digits(name: str) -> tuple[str, str]:
    """``w1`` → (``w``, ``1``); ``x_10`` → (``x``, ``10``); names without a numeric
    suffix keep it empty. The subscript both display forms (text, LaTeX) show."""
    m = _NAME_DIGITS.match(name)
    return (m.group(1), m.group(2)) if m else (name, "")


def pretty(name: str) -> str:
    """Display form: trailing digits become subscripts, `yhat` becomes `ŷ`, Greek names
    become letters (`w1` → `w₁`, `yhat` → `ŷ`, `eta` → `η`). Only for display."""
    base, digits = split_digits(name)
    if base.endswith("hat") and len(base) > 3:
        stem = base[:-3].rstrip("_")
        if len(stem) == 1:
            base = stem + "\u0302"
    elif base.endswith("bar") and len(base) == 4:
        base = base[0] + "\u0304"
    base = _GREEK.get(base, base)
    return base + digits.translate(_SUBSCRIPTS)


def unique_name(stem: str, taken: set[str] | dict, start: dict[str, int] | None = None) -> str:
    """First of stem1, stem2, … not in `taken` (used for temporaries and new nodes).

    ``start`` remembers where each stem's search ended, so naming n temporaries is O(n)
    rather than O(n²) when nothing is ever freed (the parser's case)."""
    i = start.get(stem, 1) if start is not None else 1
    while f"{stem}{i}" in taken:
        i += 1
    if start is not None:
        start[stem] = i + 1
    return f"{stem}{i}"
