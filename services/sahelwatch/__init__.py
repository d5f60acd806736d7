"""sahelwatch: streaming news monitoring for the Sahel."""

__version__ = "0.1.0"
