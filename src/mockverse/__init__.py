"""mockverse: a mock API server that serves a coherent, deterministic persona world."""

__version__ = "0.1.0"
