"""ESC/POS printing: documents built as bytes, printer connections, status.

Every module here that loads python-escpos is imported through this package, so its
printer database is cached (when a folder for it is named) before escpos reads it;
see :mod:`drivers.printer.capabilities_cache`.
"""

from drivers.printer.capabilities_cache import cache_capabilities

cache_capabilities()
