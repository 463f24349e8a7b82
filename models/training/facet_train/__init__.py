"""Training, export and evaluation of Facet models (see models/FORMAT.md)."""
