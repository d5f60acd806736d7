"""The core pipeline as the settings configure it: one place for the worker and the offline commands."""

from __future__ import annotations

from datetime import timedelta

from sahelwatch.config import Settings
from sahelwatch.core.alerts import load_rules
from sahelwatch.core.pipeline import Pipeline
from sahelwatch.core.tagging import default_tagger


def build_pipeline(settings: Settings) -> Pipeline:
    """Load and validate rules and knowledge (errors name the file and entry), then build the pipeline."""
    return Pipeline(
        max_message_bytes=settings.max_message_bytes,
        dedup_retention=timedelta(hours=settings.dedup_retention_hours),
        tagger=default_tagger(),
        rules=load_rules(settings.rules_file),
    )
