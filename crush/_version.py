"""The one place the crush version lives."""

__version__ = "0.1.0"
