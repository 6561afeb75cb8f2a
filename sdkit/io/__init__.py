"""sdkit.io."""
