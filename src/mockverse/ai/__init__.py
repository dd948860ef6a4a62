"""Optional LLM help: the OpenAI-compatible provider, frozen artefacts, generated personas.

Every feature here works without an LLM through a deterministic fallback.
"""

from mockverse.ai.provider import LLM, AIError, Artefacts, build_llm

__all__ = ["AIError", "Artefacts", "LLM", "build_llm"]
