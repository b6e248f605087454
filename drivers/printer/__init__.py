"""ESC/POS printing: documents built as bytes, printer connections, status."""
