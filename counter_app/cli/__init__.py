"""The ``counter`` command line (the contract in the README's "Command line").

- :mod:`.main`: the parser and ``main()``, the console script's entry point;
- :mod:`.context`: :class:`CliContext`, what every command gets;
- :mod:`.app`: ``counter`` alone, the counter screen;
- :mod:`.config`, :mod:`.scale` (with :mod:`.scale_decode`, :mod:`.scale_monitor`,
  :mod:`.scale_simulate`), :mod:`.printer`: the technician's commands;
- :mod:`.totals`, :mod:`.export`, :mod:`.verify` and their shared :mod:`.database`:
  the supervisor's commands.
"""

from counter_app.cli.context import CliContext
from counter_app.cli.main import main

__all__ = ["CliContext", "main"]
