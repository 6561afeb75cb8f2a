"""sdkit.scenarios."""
