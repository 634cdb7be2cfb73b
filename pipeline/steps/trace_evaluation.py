"""``make evaluate-trace``: the tracing stage scored against gold links written by hand.

Each folder given holds declarations, their plans, ``metadata.csv``, ``gold_links.csv`` and
optionally ``gold_versions.csv`` (:mod:`pipeline.trace.gold`). The folder is analysed like any
corpus; the links of ``trace.csv`` and the statuses of ``versions.csv`` are compared with the
gold files. ``fit``: the weights and the threshold of ``pipeline/data/trace.toml`` are fitted on
these folders (threshold by leave-one-CPAS-out cross-validation) and printed; ``write`` puts
them in the settings file. Fit on tuning folders only, then evaluate on folders never used to
fit: that figure is the one to quote.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pandas as pd

from pipeline import io
from pipeline.outdir import owned

THRESHOLDS = [round(0.05 * k, 2) for k in range(2, 19)]


def _gold_frames(folder: Path, result, quiet: bool):
    from pipeline.trace.gold import PROMISE_KINDS, QuoteIndex, gold_links, read_gold

    links, versions = read_gold(folder)
    index = QuoteIndex(result.units, result.documents)
    gl = gold_links(links, index) if len(links) else pd.DataFrame(
        columns=["commune", "dps_doc", "dps_unit", "pst_doc", "pst_unit", "kind"])
    gv_rows = []
    for r in versions.to_dict("records"):
        gv_rows.append({
            "commune": r.get("commune", ""),
            "old_doc": index.doc(r["old_file"]) if r.get("old_file") else "",
            "old_unit": index.unit(r["old_file"], r["old_quote"], PROMISE_KINDS)
            if r.get("old_quote") else "",
            "new_doc": index.doc(r["new_file"]) if r.get("new_file") else "",
            "new_unit": index.unit(r["new_file"], r["new_quote"], PROMISE_KINDS)
            if r.get("new_quote") else "",
            "status": r.get("status", "")})
    gv = pd.DataFrame(gv_rows, columns=["commune", "old_doc", "old_unit", "new_doc", "new_unit",
                                        "status"])
    if index.missing and not quiet:
        for m in index.missing:
            print(f"  attention : citation {m}", file=sys.stderr)
    return gl, gv, len(index.missing)


def _link_gold_for_fit(gl: pd.DataFrame) -> pd.DataFrame:
    from pipeline.trace.gold import LINK_KINDS

    g = gl[gl["dps_unit"] != ""]
    return pd.DataFrame({"src_doc": g["dps_doc"], "src_unit": g["dps_unit"],
                         "dst_doc": g["pst_doc"].where(g["pst_doc"] != "", "?"),
                         "dst_unit": g["pst_unit"],
                         "is_link": g["kind"].isin(LINK_KINDS) & (g["pst_unit"] != "")})


def _version_gold_for_fit(gv: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    rows = []
    for a, b in pairs:
        g = gv[((gv["old_doc"] == a) | (gv["old_doc"] == "")) & ((gv["new_doc"] == b) | (gv["new_doc"] == ""))]
        for r in g.to_dict("records"):
            if r["old_unit"]:
                rows.append({"src_doc": a, "src_unit": r["old_unit"], "dst_doc": b,
                             "dst_unit": r["new_unit"],
                             "is_link": r["status"] in ("kept", "reworded") and bool(r["new_unit"])})
    return pd.DataFrame(rows, columns=["src_doc", "src_unit", "dst_doc", "dst_unit", "is_link"])


def _fix_dst(gold: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """Promise rows with no plan unit ("?") belong to the plan the promise's declaration is
    paired with."""
    plan_of = {}
    for a, b in pairs:
        plan_of.setdefault(a, b)
    g = gold.copy()
    g["dst_doc"] = [plan_of.get(s, d) if d == "?" else d for s, d in zip(g["src_doc"],
                                                                         g["dst_doc"], strict=True)]
    return g


def _unpaired(gl: pd.DataFrame, plans: list[tuple[str, str]], documents: pd.DataFrame
              ) -> tuple[set[tuple], set[tuple], list[str]]:
    """Gold links and promises of declarations and plans the tool does not pair (a plan read
    as a declaration, a commune or mandate read wrong): (links, promises, one French line per
    missed pair). They count as missed links, so that a reading failure lowers the recall
    instead of leaving the evaluation."""
    from pipeline.trace.gold import LINK_KINDS

    paired = set(plans)
    sources = {a for a, _ in plans}
    kind_of = dict(zip(documents["doc_id"].astype(str),
                       documents.get("doc_kind", pd.Series("", index=documents.index))
                       .fillna("").astype(str), strict=True))
    links: set[tuple] = set()
    promises: set[tuple] = set()
    missed: dict[tuple[str, str], int] = {}
    for r in gl.to_dict("records"):
        dps, pst = r["dps_doc"], r["pst_doc"]
        if not dps or not r["dps_unit"]:
            continue
        if r["kind"] in LINK_KINDS and pst and r["pst_unit"] and (dps, pst) not in paired:
            links.add((dps, r["dps_unit"], pst, r["pst_unit"]))
            promises.add((dps, r["dps_unit"]))
            missed[(dps, pst)] = missed.get((dps, pst), 0) + 1
        elif not pst and dps not in sources:
            promises.add((dps, r["dps_unit"]))
    lines = [f"  attention : {dps} → {pst} non relié par l'outil ({n} lien(s) de référence "
             f"comptés manqués ; type lu : {dps} « {kind_of.get(dps, '?')} », "
             f"{pst} « {kind_of.get(pst, '?')} »)" for (dps, pst), n in sorted(missed.items())]
    return links, promises, lines


def _fmt(x: float) -> str:
    return "—" if x != x else f"{x:.2f}"


def run_trace_evaluation(folders: list[Path], out: Path, analyze, *, fit: bool = False,
                         write: bool = False, n_process: int = 2, quiet: bool = False,
                         force: bool = False, wait: bool = False) -> int:
    """Analyse each folder into ``out/<folder name>/`` (``analyze``: the runner's
    :func:`~pipeline.runner.analyze`, given by the entry point), score trace.csv and versions.csv
    against the gold files, print the French summary and write ``out/trace_evaluation.csv``.
    With ``fit``: fit the weights and thresholds on these folders and print them (``write``:
    into ``pipeline/data/trace.toml``). Returns an exit code."""
    with owned(Path(out), None, force, wait):
        return _run(folders, Path(out), analyze, fit=fit, write=write, n_process=n_process,
                    quiet=quiet)


def _run(folders: list[Path], out: Path, analyze, *, fit: bool, write: bool, n_process: int,
         quiet: bool) -> int:
    from pipeline.trace import find_pairs
    from pipeline.trace.gold import (
        baseline,
        cross_validate,
        features,
        fit_anchor,
        fit_model,
        fit_trees,
        gold_sets,
        out_of_fold_anchor,
        pair_data,
        score_links,
    )
    from pipeline.trace.link import load_settings, model

    settings = load_settings()
    kinds = settings["units"]
    rows: list[dict] = []
    link_data, version_data, n_missing = [], [], 0
    unpaired_links: set[tuple] = set()
    unpaired_promises: set[tuple] = set()
    pred_links: set[tuple] = set()
    status_pairs: list[tuple[str, str]] = []
    for folder in folders:
        folder = Path(folder)
        if not quiet:
            print(f"Analyse de {folder} …", file=sys.stderr)
        result = analyze(folder, out / folder.name, n_process=n_process, quiet=True,
                         report=False, force=True, trace_review=False)
        gl, gv, missing = _gold_frames(folder, result, quiet)
        n_missing += missing
        pairs = find_pairs(result.documents)
        lg = _fix_dst(_link_gold_for_fit(gl), pairs.plans)
        extra_links, extra_promises, lines = _unpaired(gl, pairs.plans, result.documents)
        unpaired_links |= extra_links
        unpaired_promises |= extra_promises
        for line in lines:
            print(line, file=sys.stderr)
        data = pair_data(result.units, result.nlp, result.unit_themes, pairs.plans, lg, kinds)
        link_data += data
        vg = _version_gold_for_fit(gv, pairs.versions)
        version_data += pair_data(result.units, result.nlp, result.unit_themes, pairs.versions,
                                  vg, kinds, versions=True)
        t = result.tables.get("trace", pd.DataFrame())
        if len(t):
            linked = t[t["status"] == "dans le PST"]
            pred_links |= set(zip(linked["dps_doc"], linked["dps_unit"], linked["pst_doc"],
                                  linked["pst_unit"], strict=True))
        v = result.tables.get("versions", pd.DataFrame())
        for r in gv.to_dict("records"):
            side = "old" if r["status"] in ("kept", "reworded", "dropped") else "new"
            uid, doc = r[f"{side}_unit"], r[f"{side}_doc"]
            if not uid or not len(v):
                continue
            got = v[(v[f"{side}_doc"] == doc) & (v[f"{side}_unit"] == uid)]
            if side == "new":
                got = got[got["status"] == "new"] if (got["status"] == "new").any() else got
            status_pairs.append((r["status"], str(got["status"].iloc[0]) if len(got) else "?"))

    gold, promises = gold_sets(link_data)
    gold |= unpaired_links  # missed by every method: the tool never compared those documents
    promises |= unpaired_promises
    mdl = model("link")
    s_model = score_links(pred_links, gold, promises)
    s_base = score_links(baseline(link_data, float(settings["baseline"]["cosine"])), gold,
                         promises)
    n_pairs = len(link_data)
    print(f"\nSuivi des engagements : {n_pairs} paire(s) déclaration → plan, "
          f"{len(promises)} promesses annotées, {len(gold)} liens de référence"
          + (f", {n_missing} citation(s) introuvable(s)" if n_missing else ""))
    print(f"{'':34}{'précision':>10}{'rappel':>8}{'F1':>6}{'prédits':>9}")
    for name, s in (("modèle (pipeline/data/trace.toml)", s_model),
                    (f"référence : meilleur TF-IDF ≥ {settings['baseline']['cosine']}", s_base)):
        print(f"{name:34}{_fmt(s.precision):>10}{_fmt(s.recall):>8}{_fmt(s.f1):>6}{s.n_pred:>9}")
        rows.append({"what": name, "precision": s.precision, "recall": s.recall, "f1": s.f1,
                     "n_pred": s.n_pred, "n_gold": s.n_gold, "tp": s.tp})
    # promise level: carried out by the plan (≥ 1 link) or not, what trace_summary counts
    carried_gold = {(a, b) for a, b, _, _ in gold}
    carried_pred = {(a, b) for a, b, _, _ in pred_links if (a, b) in promises}
    right = sum(((p in carried_gold) == (p in carried_pred)) for p in promises)
    print(f"Promesses reprises ou non (ce que compte trace_summary) : {right}/{len(promises)} "
          f"justes ({right / max(len(promises), 1):.2f}) ; promesses reprises : "
          f"{len(carried_pred)} prédites, {len(carried_gold)} selon la référence")
    rows.append({"what": "promesses reprises ou non : justes", "precision":
                 right / max(len(promises), 1), "n_gold": len(promises), "tp": right})
    for d in link_data:
        g1, p1 = gold_sets([d])
        if not p1:  # a declaration the gold file does not annotate (e.g. a revised one)
            continue
        s = score_links(pred_links, g1, p1)
        share_g = len({(a, b) for a, b, _, _ in g1}) / max(len(p1), 1)
        share_p = len({(a, b) for a, b, _, _ in pred_links if (a, b) in p1}) / max(len(p1), 1)
        print(f"  {d.dps} → {d.pst} : précision {_fmt(s.precision)}, rappel {_fmt(s.recall)} "
              f"({s.tp}/{s.n_gold} liens, {s.n_pred} prédits) ; part reprise {share_p:.0%} "
              f"(référence {share_g:.0%})")
        rows.append({"what": f"{d.dps} → {d.pst}", "precision": s.precision, "recall": s.recall,
                     "f1": s.f1, "n_pred": s.n_pred, "n_gold": s.n_gold, "tp": s.tp})
    if status_pairs:
        ok = sum(g == p for g, p in status_pairs)
        print(f"\nD'une législature à l'autre : {ok}/{len(status_pairs)} statuts justes "
              f"({ok / len(status_pairs):.2f})")
        for st in ("kept", "reworded", "dropped", "new"):
            got = [p for g, p in status_pairs if g == st]
            if got:
                counts = pd.Series(got).value_counts().to_dict()
                print(f"  référence {st:9} ({len(got):2}) → prédit : "
                      + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        rows.append({"what": "versions: statuts justes", "precision": ok / len(status_pairs),
                     "n_gold": len(status_pairs), "tp": ok})
        vg_links, vg_prom = gold_sets(version_data)
        vm = model("versions")
        from pipeline.trace.gold import predict
        vs = score_links(predict(version_data, vm), vg_links, vg_prom)
        print(f"  paires gardées/reformulées : précision {_fmt(vs.precision)}, rappel "
              f"{_fmt(vs.recall)} ({vs.tp}/{vs.n_gold})")
        rows.append({"what": "versions: paires", "precision": vs.precision, "recall": vs.recall,
                     "f1": vs.f1, "n_pred": vs.n_pred, "n_gold": vs.n_gold, "tp": vs.tp})
    io.write_table(pd.DataFrame(rows), out / "trace_evaluation", parquet=False)

    if fit:
        fitted = {}
        anchor = fit_anchor(link_data)
        for section, data, max_links in (("link", link_data, mdl.max_links),
                                         ("versions", version_data, 1)):
            is_link = section == "link"
            # the final weights read each plan's anchor signal as it would be on a new plan
            X, y, _ = features(out_of_fold_anchor(data) if is_link else data)
            if len(set(y.tolist())) < 2:
                print(f"[{section}] pas assez d'exemples pour ajuster", file=sys.stderr)
                continue
            cv = cross_validate(data, THRESHOLDS, max_links, anchor=is_link, trees=is_link)
            best_t = max(THRESHOLDS, key=lambda t: (round(cv[t].f1, 4),
                                                    round(cv[t].precision, 4) if cv[t].n_pred else 0))
            print(f"\n[{section}] validation croisée (un CPAS à la fois), {len(data)} paire(s) :")
            for t in THRESHOLDS:
                s = cv[t]
                mark = " ←" if t == best_t else ""
                print(f"  seuil {t:.2f} : précision {s.precision:.3f} rappel {s.recall:.3f} "
                      f"F1 {s.f1:.3f}{mark}")
            b, w = fit_model(X, y)
            trees = fit_trees(X, y) if is_link else None
            fitted[section] = (b, w, best_t, trees)
            print(f"[{section}]\nintercept = {b:.3f}\nthreshold = {best_t}\nweights = {{ "
                  + ", ".join(f"{k} = {v:.3f}" for k, v in w.items()) + " }")
            if trees is not None:
                print(f"arbres : {len(trees.roots)}, profondeur {trees.depth}")
        if anchor is not None:
            ranked = sorted(anchor.weights.items(), key=lambda kv: (kv[1], kv[0]))
            print(f"\n[ancrage] {len(anchor.weights)} lemmes ; vers le bas : "
                  + ", ".join(w for w, _ in ranked[:12]) + " ; vers le haut : "
                  + ", ".join(w for w, _ in ranked[::-1][:12]))
        if write and fitted:
            _write_settings(fitted)
            print("pipeline/data/trace.toml mis à jour", file=sys.stderr)
        if write and anchor is not None:
            _write_anchor(anchor, [f.name for f in folders])
            print("pipeline/data/trace_anchor.toml mis à jour", file=sys.stderr)
    return 0


def _write_anchor(anchor, folders: list[str]) -> None:
    """Rewrite ``pipeline/data/trace_anchor.toml`` with ``anchor`` (fitted on ``folders``)."""
    from pipeline.trace.gold import ANCHOR_C, ANCHOR_MIN_PLANS
    from pipeline.trace.link import ANCHOR_FILE, load_anchor

    lines = [
        "# Which plan units usually carry out a promise of their declaration (the `anchor`",
        "# signal of pipeline/data/trace.toml): a logistic model of \"the gold file links some",
        "# promise to this plan unit\" on the unit's distinct lemmas. Internal management",
        "# (règlement, personnel administratif, siège, logiciel…) weighs down, help to people up.",
        "# Written by `make fit-trace ARGS=--write` (pipeline/steps/trace_evaluation.py) from the",
        *("# " + line for line in textwrap.wrap(
            f"gold links of {', '.join(folders)}. A lemma is kept when the units of "
            f"≥ {ANCHOR_MIN_PLANS} plans use it (no commune or street name); L2 strength "
            f"C = {ANCHOR_C}.", 92)),
        "# Do not edit by hand: refit instead.",
        f"intercept = {anchor.intercept:.3f}",
        "",
        "[weights]",
    ]
    for word, w in sorted(anchor.weights.items()):
        key = (word if re.fullmatch(r"[A-Za-z0-9_-]+", word)
               else json.dumps(word, ensure_ascii=False).replace("\x7f", "\\u007f"))
        lines.append(f"{key} = {w:.3f}")
    io.write_text(ANCHOR_FILE, "\n".join(lines) + "\n")
    load_anchor.cache_clear()


#: where ``--write`` puts the boosted trees of the links (beside trace.toml)
TREES_FILE = "trace_trees.json"


def _write_settings(fitted: dict) -> None:
    from pipeline.trace.gold import TREE_FLOOR
    from pipeline.trace.link import SETTINGS_FILE, load_settings, load_trees

    text = SETTINGS_FILE.read_text(encoding="utf-8")
    for section, (b, w, t, trees) in fitted.items():
        block = re.search(rf"(?ms)^\[{section}\]\n(.*?)(?=^\[|\Z)", text)
        if not block:
            continue
        body = block.group(1)
        body = re.sub(r"(?m)^intercept = .*$", f"intercept = {b:.3f}", body)
        body = re.sub(r"(?m)^threshold = .*$", f"threshold = {t}", body)
        body = re.sub(r"(?m)^weights = .*$", "weights = { " + ", ".join(
            f"{k} = {v:.3f}" for k, v in w.items()) + " }", body)
        body = re.sub(r"(?m)^(trees|floor) = .*\n", "", body)
        if trees is not None:
            io.write_text(SETTINGS_FILE.parent / TREES_FILE,
                          json.dumps(trees.to_json(), separators=(",", ":")) + "\n")
            body = re.sub(r"(?m)^(weights = .*\n)",
                          lambda m: f"{m.group(1)}trees = \"{TREES_FILE}\"\nfloor = {TREE_FLOOR}\n",
                          body, count=1)
        text = text[:block.start(1)] + body + text[block.end(1):]
    io.write_text(SETTINGS_FILE, text)
    load_settings.cache_clear()
    load_trees.cache_clear()
