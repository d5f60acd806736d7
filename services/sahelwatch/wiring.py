"""The stateful stages as the settings configure them: one place for the worker and the offline replay."""

from __future__ import annotations

from datetime import timedelta

from sahelwatch.config import Settings
from sahelwatch.core.alerts import load_rules
from sahelwatch.core.pipeline import Pipeline


def build_pipeline(settings: Settings) -> Pipeline:
    """Load and validate the alert rules (errors name the file and entry), then build the stages."""
    return Pipeline(
        dedup_retention=timedelta(hours=settings.dedup_retention_hours), rules=load_rules(settings.rules_file)
    )
