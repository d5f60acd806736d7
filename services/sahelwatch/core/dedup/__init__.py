"""Deduplication: is an article the first occurrence of its story?"""

from sahelwatch.core.dedup.deduplicator import Candidate, Deduplicator, Verdict
from sahelwatch.core.dedup.fingerprint import body_fingerprint

__all__ = ["Candidate", "Deduplicator", "Verdict", "body_fingerprint"]
