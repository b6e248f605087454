"""Domain services: what the screens call. No ``textual`` import in this package."""
