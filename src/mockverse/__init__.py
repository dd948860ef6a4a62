"""mockverse: a mock API server that serves a coherent, deterministic persona world."""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``from mockverse import World`` without importing the server stack on ``import mockverse``."""
    if name == "World":
        from mockverse.in_process import World

        return World
    raise AttributeError(f"module 'mockverse' has no attribute {name!r}")
