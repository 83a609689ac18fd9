"""Chain Rule Studio's entry point: the editor, or a headless sub-command.

    chain-rule-studio [FILE]         open the editor (the tutorial's network when no FILE)
    chain-rule-studio eval|check|train|convert|render ...   headless; see --help

``python main.py`` in a checkout and the installed ``chain-rule-studio`` command both
call ``main`` here.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and (argv[0] in ("eval", "check", "train", "convert", "render")
                 or argv[0] in ("-h", "--help")):
        from chain_rule_studio import cli
        if argv[0] in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        return cli.run(argv)
    if len(argv) > 1:
        print("main.py: error: give at most one FILE to open (or a sub-command: "
              "eval, check, train, convert, render)", file=sys.stderr)
        return 2
    try:
        from gui.app import run
    except ImportError as e:
        print(f"main.py: error: the editor cannot start: {e}", file=sys.stderr)
        return 2
    return run(argv[0] if argv else None)


if __name__ == "__main__":
    sys.exit(main())
