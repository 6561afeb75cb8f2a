"""sdkit.structure."""
