from pipeline.models import Unit
from pipeline.segment import render_tree


def _u(uid, kind, text, depth=0, label=""):
    return Unit("d", uid, "", kind, label, text, 0, 1, None, depth)


def test_render_tree_indents_and_appends_themes():
    units = [_u("u0001", "axis", "Le logement", label="AXE 1"),
             _u("u0002", "objective", "Créer deux logements d'urgence", depth=1, label="-"),
             _u("u0003", "navigation", "Imprimer")]
    out = render_tree(units, themes={"u0002": "logement;synergies", "u0003": ""}).splitlines()
    assert out[0].startswith("axe") and "AXE 1 Le logement" in out[0] and "→" not in out[0]
    assert out[1].startswith("  objectif") and out[1].endswith("→ logement, synergies")
    assert out[2].startswith("[nav]")
    assert render_tree([]) == "(aucune unité)"
