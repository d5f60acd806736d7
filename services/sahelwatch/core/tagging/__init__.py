"""Tagging: actors, places, countries and intervention language, from data files."""

from __future__ import annotations

import functools

from sahelwatch.core.tagging.knowledge import KnowledgeError, default_knowledge
from sahelwatch.core.tagging.tagger import Tagger
from sahelwatch.core.tagging.tags import Tags


@functools.cache
def default_tagger() -> Tagger:
    """The tagger of the package's knowledge files, built once per process."""
    return Tagger(default_knowledge())


__all__ = ["KnowledgeError", "Tagger", "Tags", "default_tagger"]
