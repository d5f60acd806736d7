"""Deduplication: decide whether an article is a first occurrence."""

from sahelwatch.core.dedup.exact import ExactDeduplicator, body_fingerprint

__all__ = ["ExactDeduplicator", "body_fingerprint"]
