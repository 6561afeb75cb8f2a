"""sdkit.workflow."""
