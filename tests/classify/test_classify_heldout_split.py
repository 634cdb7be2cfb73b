"""The theme held-out set that ``make evaluate`` scores by default is kept out of training:
none of its documents, and none of its sentences, is in the annotations shipped with the
package (pipeline/data/annotations/), and every annotation file of ``training/`` is in the
merged training.csv the model reads."""

from __future__ import annotations

import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "pipeline" / "data" / "annotations"


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _default_heldout() -> Path:
    from pipeline.cli import build_parser

    args = build_parser().parse_args(["evaluate"])
    return ROOT / args.heldout


def test_default_heldout_set_is_not_in_training():
    heldout = _rows(_default_heldout() / "annotations.csv")
    assert len(heldout) >= 300
    shipped = [r for f in sorted(SHIPPED.glob("*.csv")) for r in _rows(f)]
    assert {r["doc_id"] for r in heldout}.isdisjoint({r["doc_id"] for r in shipped})
    # short headings ("Logement", "Un toit pour chacun", "Repas à domicile 7 jours sur 7")
    # recur between independent writers; a set that leaked into training would share most
    # of its units
    seen = {r["text"] for r in shipped}
    longer = [r["text"] for r in heldout if len(r["text"].split()) >= 6]
    shared = [t for t in longer if t in seen]
    assert len(shared) <= 0.02 * len(longer), shared


def test_training_csv_merges_every_training_annotation_file():
    parts = [r for f in sorted((ROOT / "training").glob("annotations-*.csv")) for r in _rows(f)]
    assert parts == _rows(SHIPPED / "training.csv")
