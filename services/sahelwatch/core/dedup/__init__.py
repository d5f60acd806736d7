"""Deduplication: is an article the first occurrence of its story?"""

from sahelwatch.core.dedup.deduplicator import Candidate, Deduplicator, Index, Verdict, build_index
from sahelwatch.core.dedup.fingerprint import body_fingerprint

__all__ = ["Candidate", "Deduplicator", "Index", "Verdict", "body_fingerprint", "build_index"]
