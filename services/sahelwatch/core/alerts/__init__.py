"""Alerts: windowed threshold and surge rules over the first occurrences of stories."""

from sahelwatch.core.alerts.engine import Alert, AlertEngine, Observation
from sahelwatch.core.alerts.rules import RulesError, RuleSet, load_rules

__all__ = ["Alert", "AlertEngine", "Observation", "RuleSet", "RulesError", "load_rules"]
