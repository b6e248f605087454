"""The counter application: UI, command line, configuration and domain services."""

__version__ = "0.1.0"
