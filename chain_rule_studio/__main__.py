"""``python -m chain_rule_studio``: the same as the ``chain-rule-studio`` command."""

import sys

from chain_rule_studio.main import main

sys.exit(main())
