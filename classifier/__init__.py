"""The model: text in, Suggestion out. Knows nothing of channels or the database (DESIGN.md)."""

from classifier.suggestion import Flags, Suggestion

__all__ = ["Flags", "Suggestion"]
