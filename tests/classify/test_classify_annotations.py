import pandas as pd
from test_classify_helpers import FIXTURES

from pipeline.classify.annotations import (
    load_annotations,
    match_annotations,
    normalise_text,
    split_themes,
)


def test_normalise_text_drops_bullets_labels_quotes_case_and_trailing_punctuation():
    assert normalise_text("- Créer   deux LOGEMENTS d’urgence ;") == "créer deux logements d'urgence"
    assert normalise_text("O.O.3. Renforcer la communication") == "renforcer la communication"
    assert normalise_text("AXE 2 : LA REINSERTION") == "la reinsertion"
    assert normalise_text("**1. Améliorer** les services :") == "améliorer les services"
    assert normalise_text("« zéro déchet » ;*") == "zéro déchet"


def test_split_themes():
    assert split_themes(" a; b;;c ") == ["a", "b", "c"]
    assert split_themes("") == [] and split_themes(float("nan")) == []


def test_match_annotations_exact_fuzzy_unit_id_and_unmatched():
    units = pd.DataFrame({
        "doc_id": ["a", "a", "a", "b", "b"],
        "unit_id": ["u0001", "u0002", "u0003", "u0009", "u0010"],
        "kind": ["objective", "objective", "statement", "objective", "objective"],
        "text": ["Créer deux logements d'urgence",
                 "Trouver un emploi aux bénéficiaires du RIS",
                 # one typo and a final dot: fuzzy ratio above 90
                 "Tenir le budget de l'institution avec rigeur chaque année.",
                 "Autre chose",
                 "Encore autre chose"],
    })
    ann = load_annotations(FIXTURES / "annotations_small.csv")
    m = match_annotations(units, ann)
    got = dict(zip(m["unit_id"], zip(m["themes_human"], m["match"], strict=True), strict=True))
    assert got["u0001"] == ("logement", "exact")
    assert got["u0002"] == ("insertion", "exact")
    assert got["u0003"][0] == "finances" and got["u0003"][1] == "fuzzy"
    assert got["u0009"] == ("", "unit_id")  # reviewed as "no theme"
    assert "u0010" not in got
    assert m.attrs["unmatched"] == [4] and m.attrs["n_annotations"] == 5


def test_match_annotations_respects_doc_id_and_is_one_to_one():
    units = pd.DataFrame({"doc_id": ["a", "b", "b"], "unit_id": ["u1", "u1", "u2"],
                          "text": ["Même texte", "Même texte", "Même texte"]})
    ann = pd.DataFrame({"doc_id": ["b", "b", "b"], "unit_id": ["", "", ""],
                        "text": ["même texte", "même texte", "même texte"],
                        "themes": ["x", "y", "z"]})
    m = match_annotations(units, ann)
    assert list(m["doc_id"]) == ["b", "b"]
    assert sorted(m["themes_human"]) == ["x", "y"]
    assert m.attrs["unmatched"] == [2]


def test_match_annotations_without_annotations():
    units = pd.DataFrame({"doc_id": ["a"], "unit_id": ["u1"], "text": ["t"]})
    assert match_annotations(units, None).empty


def test_stale_unit_id_with_other_text_is_not_trusted():
    units = pd.DataFrame({"doc_id": ["a", "a"], "unit_id": ["u0001", "u0002"],
                          "kind": ["objective", "objective"],
                          "text": ["Créer un taxi social", "Ouvrir une épicerie sociale"]})
    # the reviewer's row names u0001 but its text is now unit u0002's (ids shifted)
    ann = pd.DataFrame({"doc_id": ["a"], "unit_id": ["u0001"], "kind": ["objective"],
                        "text": ["Ouvrir une épicerie sociale"], "themes": ["aide_alimentaire"]})
    m = match_annotations(units, ann)
    assert m["unit_id"].tolist() == ["u0002"]
    assert m["themes_human"].tolist() == ["aide_alimentaire"]
