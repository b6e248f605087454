"""The Textual user interface. Screens call services; no SQL, serial or ESC/POS here."""
