"""Chain Rule Studio's entry point: the editor, or a headless sub-command.

    chain-rule-studio [FILE]         open the editor (the tutorial's network when no FILE)
    chain-rule-studio eval|check|train|convert|render|quiz ...   headless; see --help
    chain-rule-studio --check-display  say whether a window can open here, or what to install

``python main.py`` in a checkout and the installed ``chain-rule-studio`` command both
call ``main`` here.
"""

from __future__ import annotations

import difflib
import os
import sys

SUBCOMMANDS = ("eval", "check", "train", "convert", "render", "quiz", "export")


def _error(message: str) -> int:
    print(f"main.py: error: {message}", file=sys.stderr)
    return 2


def _looks_like_command(arg: str) -> bool:
    """A first argument that is no existing file and reads as a word (no path separator,
    no .json suffix) was meant as a sub-command: ``main.py evaluate`` must not open an
    editor on a file called "evaluate"."""
    if os.path.exists(arg):
        return False
    seps = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    return not any(s in arg for s in seps) and not arg.lower().endswith(".json")


def _unknown(arg: str) -> int:
    what = "option" if arg.startswith("-") else "sub-command"
    near = difflib.get_close_matches(arg.lstrip("-").lower(), SUBCOMMANDS, n=1, cutoff=0.5)
    hint = f" (did you mean {near[0]}?)" if near else ""
    shown = arg if len(arg) <= 40 else arg[:40] + "…"
    return _error(f"unknown {what} {shown!r}{hint}; sub-commands: {', '.join(SUBCOMMANDS)}; "
                  "or give a FILE to open")


def no_display() -> str | None:
    """Why the editor cannot open a window here, or None. Checked before Qt is loaded:
    without a display Qt aborts the process (SIGABRT) instead of raising."""
    if sys.platform in ("win32", "darwin") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display to open the editor on (DISPLAY and WAYLAND_DISPLAY are not set); "
            "use a sub-command (" + ", ".join(SUBCOMMANDS) + ") or set "
            "QT_QPA_PLATFORM=offscreen")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if argv and argv[0] == "--check-display":
        from chain_rule_studio.display import check_display
        ok, line = check_display()
        print(line)
        return 0 if ok else 1
    if argv and argv[0] in SUBCOMMANDS:
        from chain_rule_studio import cli
        return cli.run(argv)
    if argv and _looks_like_command(argv[0]):
        return _unknown(argv[0])
    if len(argv) > 1:
        return _error("give at most one FILE to open (or a sub-command: "
                      + ", ".join(SUBCOMMANDS) + ")")
    why = no_display()
    if why is not None:
        return _error(why)
    from chain_rule_studio.display import advice, missing_libraries, uses_xcb
    if uses_xcb():  # Qt would abort with a message that names no library
        missing = missing_libraries()
        if missing:
            return _error(advice(missing))
    try:
        from gui.app import run
    except ImportError as e:
        return _error(f"the editor cannot start: {e}")
    return run(argv[0] if argv else None)


if __name__ == "__main__":
    sys.exit(main())
