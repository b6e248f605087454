"""Hardware drivers: scale indicator protocols and transports, ESC/POS printing.

Nothing in this package imports ``textual``, ``db`` or ``counter_app``.
"""
