"""Per-file limits, so that one huge or hostile file can neither exhaust the memory nor stall
the run: it is reported as an error (one French line: what, which limit, how to raise it) and
the other files are analysed.

Defaults (README « Limites par fichier »; ``python -m pipeline analyze --max-… ``):

- ``max_file_mb`` = 100: size on disk of one input file, checked before it is read (a scanned
  100-page PDF weighs 10–60 MB; a declaration in TXT, DOCX or HTML well under 5 MB).
- ``max_unzipped_mb`` = 250: total uncompressed size of the parts of a DOCX, read from the zip
  directory before anything is decompressed (a zip bomb of 2 MB holding 2 GiB stops there;
  the XML of a 300-page declaration is a few MB, its photos rarely 100 MB).
- ``max_chars`` = 2,000,000: characters of text of one document (a long declaration has
  20,000–150,000; 2 million is about 300,000 words, 700 pages). For TXT / MD it is checked
  right after decoding, before any other work; a longer text is refused, not truncated.
- ``report_max_units`` = 2,000: units of one declaration shown in the tree of report.html
  (a declaration has 50–600); past that, a line says how many more there are and where to
  find them (units.csv), so the report stays openable whatever the corpus holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_file_mb: float = 100.0
    max_unzipped_mb: float = 250.0
    max_chars: int = 2_000_000
    report_max_units: int = 2_000

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not value or value <= 0:
                raise ValueError(f"limite --{name.replace('_', '-')} invalide ({value}) : "
                                 "indiquez un nombre positif")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * MB)

    @property
    def max_unzipped_bytes(self) -> int:
        return int(self.max_unzipped_mb * MB)

    def ingest_key(self) -> str:
        """The limits that decide whether a file is read (part of the cache key of a file)."""
        return f"limits:{self.max_file_mb:g}:{self.max_unzipped_mb:g}:{self.max_chars}"


DEFAULT = Limits()


def mb(n_bytes: int) -> str:
    """A size in MB for messages ("2 048 Mo" style kept simple: one decimal under 10)."""
    v = n_bytes / MB
    return f"{v:.1f}" if v < 10 else f"{v:.0f}"
