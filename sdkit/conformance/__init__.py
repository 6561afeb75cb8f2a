"""sdkit.conformance."""
