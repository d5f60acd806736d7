"""Deduplication: is an article the first occurrence of its story?"""

from sahelwatch.core.dedup.deduplicator import Bands, Candidate, Deduplicator, Verdict, index_bands
from sahelwatch.core.dedup.fingerprint import body_fingerprint

__all__ = ["Bands", "Candidate", "Deduplicator", "Verdict", "body_fingerprint", "index_bands"]
