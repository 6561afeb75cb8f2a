"""sdkit.edit."""
