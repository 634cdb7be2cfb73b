"""The one exception readers raise for bad input; ``ingest_file`` turns it into status="error"."""

from __future__ import annotations


class IngestError(Exception):
    """Bad input file. ``message`` is a one-line French sentence: what is wrong, what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = " ".join(str(message).split())


# Messages shown to users (one line each: what is wrong, what to do).
EMPTY = "fichier vide : vérifiez que l'export ou la copie du document a bien abouti"
ENCRYPTED = "PDF chiffré (protégé par mot de passe) : exportez une version sans mot de passe"
CORRUPT_PDF = "PDF tronqué ou corrompu : ré-exportez-le ou téléchargez-le à nouveau"
NOT_A_PDF = "ce fichier .pdf n'est pas un PDF (contenu illisible) : ré-exportez-le en PDF"
CORRUPT_DOCX = "DOCX corrompu ou illisible : ouvrez-le dans Word ou LibreOffice et enregistrez-le à nouveau"
UNDECODABLE = ("encodage illisible (ni UTF-8 ni Windows-1252, ou contenu binaire) : "
               "enregistrez le texte en UTF-8")
NO_OCR = ("PDF scanné sans couche texte et OCR indisponible : installez tesseract-ocr-fra "
          "(apt-get install tesseract-ocr tesseract-ocr-fra)")
NO_TEXT = "aucun texte lisible dans le document : vérifiez qu'il s'agit bien de la déclaration"
OCR_EMPTY = ("PDF scanné : l'OCR n'a reconnu aucun texte (image trop floue ?) : "
             "fournissez une version texte ou un scan plus net")


def unsupported(ext: str) -> str:
    """Message for an unsupported file extension (``ext`` with its dot, e.g. ".xls")."""
    ext = ext or "(sans extension)"
    return f"format {ext} non pris en charge : convertissez en PDF, DOCX ou TXT"


def too_big(size: str, limit: float) -> str:
    """Message for a file larger on disk than ``--max-file-mb`` (``size`` in MB, formatted)."""
    return (f"fichier trop volumineux ({size} Mo, limite {limit:g} Mo) : découpez-le ou "
            f"compressez ses images, ou relevez la limite avec --max-file-mb")


def unzipped_too_big(size: str, limit: float, largest: str, largest_size: str) -> str:
    """Message for a DOCX whose parts, decompressed, exceed ``--max-unzipped-mb``."""
    return (f"DOCX trop volumineux une fois décompressé ({size} Mo, limite {limit:g} Mo ; "
            f"partie la plus lourde : {largest}, {largest_size} Mo) : réduisez ou retirez les "
            f"images dans Word, ou relevez la limite avec --max-unzipped-mb")


def too_long(n_chars: int, limit: int) -> str:
    """Message for a text longer than ``--max-chars``."""
    n, lim = f"{n_chars:,}".replace(",", " "), f"{limit:,}".replace(",", " ")
    return (f"texte trop long ({n} caractères, limite {lim}) : vérifiez qu'il s'agit bien "
            f"d'une déclaration, découpez-la, ou relevez la limite avec --max-chars")
