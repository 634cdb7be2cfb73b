"""cpas-compare: read, structure, theme and compare Belgian CPAS social-policy declarations.

Public API (what notebooks use); the stages are ingest → segment → nlp → classify → compare →
report, each importable on its own.
"""

__version__ = "0.1.0"
