"""Chain Rule Studio: ``python main.py [FILE]`` opens the editor; ``python main.py eval|
check|train|convert|render ...`` works headless (``--help`` lists them). Installed, the
same is the ``chain-rule-studio`` command; see chain_rule_studio/main.py."""

import sys

from chain_rule_studio.main import main

if __name__ == "__main__":
    sys.exit(main())
