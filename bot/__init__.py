"""opdbot application core. Never imports ``telegram``."""

__version__ = "0.1.0"
