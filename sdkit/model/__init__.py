"""sdkit.model."""
