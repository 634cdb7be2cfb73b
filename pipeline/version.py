"""The package version (one place; read by the package and by the QDPX export)."""

__version__ = "0.1.0"
