"""sdkit's version (one place; the package and its outputs read it here)."""

__version__ = "0.1.0"
