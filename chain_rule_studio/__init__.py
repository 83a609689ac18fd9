"""Chain Rule Studio: a desktop editor that makes backpropagation visible.

``engine`` computes (no Qt), ``gui`` shows; this package holds what starts them: the
entry point (``chain_rule_studio.main``), the command line (``chain_rule_studio.cli``)
and the example graphs that ship with the program (``chain_rule_studio.examples``).
"""

__version__ = "0.1.0"
