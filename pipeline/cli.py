"""Command line: a thin layer over the library (``python -m pipeline --help``).

Subcommands mirror the Makefile targets: analyze (also spelt ``analyse``), show, evaluate, peers
(one CPAS against its peers, in the terminal; ``make peers``), profile (its printable page and
PDF; ``make profile``), import-qdpx (a reviewed QDA project back into annotations.csv;
``make import-qdpx``). The speed and memory benchmark (``make benchmark``) lives outside the
package: ``python -m benchmarks`` (benchmarks/).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = ("cpas-compare : lit les déclarations de politique sociale des CPAS, les découpe en "
               "axes et objectifs, les classe par thèmes et compare les communes.")
EPILOG = ("codes de sortie : 0 tout va bien ; 1 au moins un document en erreur (avec --strict) ; "
          "2 aucun document lisible ; 3 commande ou réglage à corriger (option, fichier de "
          "métadonnées, dossier de sortie refusé ou occupé) ; 4 dossier de sortie non accessible "
          "en écriture ; 143 interrompu (SIGTERM).")
EXIT_USAGE, EXIT_NOT_WRITABLE = 3, 4  # = pipeline.outdir.EXIT_* (kept light: no import here)


class _Parser(argparse.ArgumentParser):
    """argparse with the project's exit code for a mistyped command (3, not argparse's 2)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog} : erreur : {message}\n")


def _add_out(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("outputs"),
                   help="dossier des résultats (défaut : outputs)")


def _add_display(p: argparse.ArgumentParser) -> None:
    """Terminal options of ``show`` and ``trace``."""
    p.add_argument("--width", type=int, default=110, help="largeur des lignes")
    p.add_argument("--color", action=argparse.BooleanOptionalAction, default=None,
                   help="couleurs ANSI (défaut : si le terminal les affiche)")


def _add_out_control(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true",
                   help="adopter un dossier de sortie non vide qui ne vient pas de l'outil (ses "
                        "fichiers à lui y sont écrits ou remplacés, les autres jamais touchés)")
    p.add_argument("--wait", action="store_true",
                   help="si une autre analyse écrit dans le même dossier de sortie, attendre "
                        "sa fin (sinon : message et code 3)")


def _add_limits(p: argparse.ArgumentParser) -> None:
    from pipeline.limits import DEFAULT

    g = p.add_argument_group("limites par fichier (un fichier au-delà est signalé en erreur, "
                             "les autres sont analysés)")
    g.add_argument("--max-file-mb", type=float, default=DEFAULT.max_file_mb, metavar="Mo",
                   help=f"taille maximale d'un fichier sur disque (défaut : {DEFAULT.max_file_mb:g})")
    g.add_argument("--max-unzipped-mb", type=float, default=DEFAULT.max_unzipped_mb,
                   metavar="Mo", help="taille maximale d'un DOCX une fois décompressé "
                                      f"(défaut : {DEFAULT.max_unzipped_mb:g})")
    g.add_argument("--max-chars", type=int, default=DEFAULT.max_chars, metavar="N",
                   help=f"caractères de texte d'un document (défaut : {DEFAULT.max_chars})")
    g.add_argument("--report-max-units", type=int, default=DEFAULT.report_max_units,
                   metavar="N", help="unités d'une déclaration affichées dans le rapport, les "
                                     f"autres résumées (défaut : {DEFAULT.report_max_units})")


def _limits(args):
    from pipeline.limits import Limits

    return Limits(max_file_mb=args.max_file_mb, max_unzipped_mb=args.max_unzipped_mb,
                  max_chars=args.max_chars, report_max_units=args.report_max_units)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m pipeline", description=DESCRIPTION, epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", metavar="COMMANDE", parser_class=_Parser)

    p = sub.add_parser("analyze", aliases=["analyse"],
                       help="analyser un dossier de déclarations (make analyze)",
                       description="Lit chaque déclaration du dossier (TXT, MD, PDF, DOCX, HTML), "
                                   "la structure, la classe par thèmes et écrit tableaux, "
                                   "classeur, rapport et export QDPX dans --out.")
    p.add_argument("corpus", type=Path, nargs="?", default=Path("corpus"),
                   help="dossier des déclarations (défaut : corpus)")
    _add_out(p)
    p.add_argument("--metadata", type=Path, default=None,
                   help="CSV de métadonnées (défaut : CORPUS/metadata.csv)")
    p.add_argument("--annotations", type=Path, default=None,
                   help="annotations humaines des thèmes (défaut : CORPUS/annotations.csv)")
    p.add_argument("--trace-review", type=Path, default=None,
                   help="liens déclaration → plan relus à la main : lignes de trace.csv avec "
                        "une colonne decision (« lien », « pas un lien », « pas dans le PST ») "
                        "(défaut : CORPUS/trace_review.csv)")
    p.add_argument("--codebook", type=Path, default=None,
                   help="grille de thèmes TOML (défaut : pipeline/data/codebook.toml)")
    p.add_argument("--by", action="append", default=[], metavar="COLONNE",
                   help="comparer les thèmes entre groupes d'une colonne de métadonnées "
                        "(ex. --by mandate --by province)")
    p.add_argument("--processes", type=int, default=2,
                   help="processus parallèles (défaut : 2 ; 1 = tout dans un seul processus, "
                        "le moins de mémoire)")
    p.add_argument("--cache", type=Path, default=None, help="dossier du cache (défaut : OUT/.cache)")
    p.add_argument("--no-ner", action="store_true",
                   help="sans reconnaissance d'entités spaCy (partenaires : gazetier seul ; plus rapide)")
    p.add_argument("--no-report", action="store_true", help="sans rapport HTML ni export QDPX")
    p.add_argument("--strict", action="store_true",
                   help="code de sortie 1 si un seul document est en erreur")
    p.add_argument("--quiet", action="store_true", help="sans barres de progression ni résumé")
    p.add_argument("--follow-symlinks", action="store_true",
                   help="lire aussi les fichiers atteints par un lien symbolique (ignorés sinon, "
                        "avec une note)")
    _add_out_control(p)
    _add_limits(p)

    p = sub.add_parser("show", help="afficher l'arbre d'une déclaration (make show DOC=…)",
                       description="Affiche l'arbre axes / objectifs / actions d'une déclaration "
                                   "déjà analysée.")
    p.add_argument("doc_id", help="identifiant du document (nom du fichier sans extension) ou "
                                  "nom de la commune")
    _add_out(p)
    _add_display(p)
    p.add_argument("--themes", action=argparse.BooleanOptionalAction, default=True,
                   help="thèmes attribués en fin de ligne (défaut : oui)")

    p = sub.add_parser("evaluate", help="évaluer le classement en thèmes (make evaluate)",
                       description="Validation croisée « un document laissé de côté » sur les "
                                   "déclarations d'entraînement (annotations livrées avec l'outil "
                                   "+ celles de CORPUS), puis score sur les déclarations mises "
                                   "de côté (HELDOUT, jamais utilisées pour régler quoi que ce "
                                   "soit) : précision, rappel, F1 par thème, micro/macro F1, F1 "
                                   "de présence par document, lignes de base (vocabulaire, "
                                   "dictionnaire simple, contexte), ablations et table de "
                                   "fiabilité des scores.")
    p.add_argument("corpus", type=Path, nargs="?", default=Path("corpus"),
                   help="dossier dont annotations.csv s'ajoute aux annotations livrées")
    _add_out(p)
    p.add_argument("--annotations", type=Path, default=None,
                   help="annotations à ajouter (défaut : CORPUS/annotations.csv)")
    p.add_argument("--heldout", type=Path, default=Path("tests/data/heldout-themes-e"),
                   help="dossier de déclarations mises de côté avec leur annotations.csv "
                        "(défaut : tests/data/heldout-themes-e, le jeu E ; les jeux C et D "
                        "ont rejoint l'entraînement ; rien si absent)")
    p.add_argument("--no-lodo", action="store_true",
                   help="sauter la validation croisée (plus rapide)")
    p.add_argument("--processes", type=int, default=2, help="processus pour la lecture")
    p.add_argument("--quiet", action="store_true", help="pas de barre de progression")
    _add_out_control(p)

    p = sub.add_parser("trace", help="suivi des engagements d'un CPAS : déclaration → plan "
                                     "stratégique (make trace DOC=…)",
                       description="Affiche chaque promesse de la déclaration avec les actions "
                                   "du plan stratégique transversal (PST) qui la mettent en "
                                   "œuvre (score, objectif, pilote, échéance, budget, indices) "
                                   "ou « pas dans le PST », puis les actions du plan sans "
                                   "ancrage dans la déclaration et l'évolution depuis la "
                                   "déclaration précédente. L'analyse (make analyze) doit avoir "
                                   "été faite.")
    p.add_argument("doc_id", help="déclaration, plan ou nom de la commune")
    _add_out(p)
    _add_display(p)

    p = sub.add_parser("evaluate-trace", help="évaluer le suivi des engagements sur des liens "
                                              "de référence (make evaluate-trace)",
                       description="Analyse chaque DOSSIER (déclarations, plans, metadata.csv, "
                                   "gold_links.csv, gold_versions.csv) et compare trace.csv et "
                                   "versions.csv aux liens annotés à la main : précision, "
                                   "rappel, F1, ligne de base « meilleur TF-IDF au-dessus d'un "
                                   "cosinus fixe », statuts d'une législature à l'autre. Avec "
                                   "--fit, ajuste les poids et le seuil (validation croisée un "
                                   "CPAS à la fois) : à faire sur les dossiers de réglage "
                                   "seulement.")
    p.add_argument("folders", type=Path, nargs="+", metavar="DOSSIER")
    p.add_argument("--out", type=Path, default=Path("outputs-suivi"),
                   help="dossier des analyses et de trace_evaluation.csv (défaut : outputs-suivi)")
    p.add_argument("--fit", action="store_true",
                   help="ajuster poids et seuils sur ces dossiers et les afficher")
    p.add_argument("--write", action="store_true",
                   help="avec --fit : écrire les poids dans pipeline/data/trace.toml")
    p.add_argument("--processes", type=int, default=2, help="processus pour la lecture")
    p.add_argument("--quiet", action="store_true", help="moins de messages")
    _add_out_control(p)

    p = sub.add_parser("peers", help="situer un CPAS parmi ses pairs (make peers DOC=…)",
                       description="Thèmes couverts que la plupart des pairs ne couvrent pas (et "
                                   "inversement), accent par thème, trois déclarations les plus "
                                   "proches, termes distinctifs.")
    p.add_argument("doc_id", help="identifiant du document (nom du fichier sans extension) ou "
                                  "nom de la commune")
    _add_out(p)

    p = sub.add_parser("profile", help="profil imprimable d'un CPAS face à ses pairs "
                                       "(make profile DOC=…)",
                       description="Écrit OUT/profiles/<doc_id>.html (et son PDF avec --pdf) : "
                                   "identité et métadonnées, axes, chaque thème face au groupe "
                                   "de pairs (rangs et min/médiane/max sous 10 pairs), objectifs "
                                   "qu'aucun pair ne partage, termes distinctifs et preuves. "
                                   "L'analyse (make analyze) doit avoir été faite.")
    p.add_argument("doc_id", help="identifiant du document (nom du fichier sans extension) ou "
                                  "nom de la commune")
    _add_out(p)
    p.add_argument("--peers", default="", metavar="GROUPE",
                   help="groupe de pairs : colonne=valeur de documents.csv ou metadata.csv "
                        "(province=Liège, mandate=2025-2030), une colonne seule (même valeur "
                        "que la déclaration : province), ou une liste d'identifiants ou de "
                        "communes séparés par des virgules (défaut : toutes les autres)")
    p.add_argument("--pdf", action=argparse.BooleanOptionalAction, default=True,
                   help="écrire aussi le PDF A4 (Chromium sans interface ; défaut : oui)")

    p = sub.add_parser("import-qdpx", help="reprendre les codages d'un projet QDA relu "
                                           "(make import-qdpx FILE=…)",
                       description="Lit un projet REFI-QDA (.qdpx) exporté par cpas-compare puis "
                                   "relu dans QualCoder, MAXQDA, NVivo ou ATLAS.ti : les codages "
                                   "faits par une personne (pas ceux de l'utilisateur « cpas-"
                                   "compare (automatique) ») deviennent des lignes "
                                   "d'annotations.csv, qui remplacent celles des mêmes passages ; "
                                   "la prochaine analyse les reprend et réentraîne le modèle.")
    p.add_argument("file", type=Path, help="le fichier .qdpx relu")
    p.add_argument("--into", type=Path, default=Path("corpus") / "annotations.csv",
                   help="annotations.csv à compléter (défaut : corpus/annotations.csv ; créé "
                        "s'il n'existe pas)")
    p.add_argument("--replace", action="store_true",
                   help="remplacer tout le fichier au lieu de le compléter")
    p.add_argument("--include-machine", action="store_true",
                   help="reprendre aussi les passages codés par la seule machine (étiquettes "
                        "automatiques non relues : à éviter pour l'entraînement)")

    return parser


def _cmd_analyze(args) -> int:
    from pipeline.nlp import ModelMissingError
    from pipeline.runner import analyze, summary

    result, code = _guarded(args.out, lambda: analyze(
        args.corpus, args.out, n_process=args.processes, cache_dir=args.cache,
        metadata_csv=args.metadata, annotations=args.annotations, by=args.by,
        strict=args.strict, quiet=args.quiet, report=not args.no_report, ner=not args.no_ner,
        codebook=args.codebook, limits=_limits(args), follow_symlinks=args.follow_symlinks,
        force=args.force, wait=args.wait, trace_review=args.trace_review),
        usage=(ModelMissingError,))
    if code is not None:
        return code
    if not args.quiet or result.errors:
        print(summary(result), file=sys.stderr if args.quiet else sys.stdout)
    if result.exit_code and not result.errors:
        print("erreur : aucun document n'a pu être lu", file=sys.stderr)
    return result.exit_code


def _guarded(out: Path, call, usage: tuple[type[BaseException], ...] = ()):
    """``(call(), None)``; or ``(None, exit code)`` with one French line on stderr for a
    usage or configuration error (FileNotFoundError, ValueError, ``usage``: 3) or an output
    folder that cannot be written (4). Any other error is raised as is."""
    try:
        return call(), None
    except (FileNotFoundError, ValueError, *usage) as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return None, EXIT_USAGE
    except OSError as exc:
        code = _output_error(exc, out)
        if code is None:
            raise
        return None, code


def _output_error(exc: OSError, out: Path) -> int | None:
    """Exit code 4 and a French line for an output folder that cannot be written; None for any
    other error (raised as is)."""
    from pipeline.outdir import OutputNotWritable, contains, is_not_writable

    if isinstance(exc, OutputNotWritable):
        print(f"erreur : {exc.strerror}", file=sys.stderr)
        return EXIT_NOT_WRITABLE
    where = Path(exc.filename) if exc.filename else None
    if is_not_writable(exc) and (where is None or contains(out, where)):
        print(f"erreur : écriture impossible dans le dossier de sortie {out} ({exc.strerror}"
              f"{' : ' + str(where) if where else ''}) : libérez de la place, vérifiez les droits "
              "ou choisissez un autre --out ; les résultats déjà écrits sont complets",
              file=sys.stderr)
        return EXIT_NOT_WRITABLE
    return None


def _cmd_show(args) -> int:
    from pipeline.models import UNIT_COLUMNS, Unit
    from pipeline.results import load_results, resolve_doc
    from pipeline.segment import render_tree

    try:
        res = load_results(args.out)
    except FileNotFoundError as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        doc_id = resolve_doc(args.doc_id, res.documents)
    except ValueError as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return EXIT_USAGE
    units = res.units[res.units["doc_id"] == doc_id]
    if units.empty:
        print(f"erreur : « {doc_id} » n'a pas pu être lu (voir documents.csv, colonne error)",
              file=sys.stderr)
        return EXIT_USAGE
    color = sys.stdout.isatty() if args.color is None else args.color
    objs = []
    for row in units.to_dict("records"):
        kw = {c: row[c] for c in UNIT_COLUMNS}
        kw["page"] = None if kw["page"] in ("", None) or kw["page"] != kw["page"] else int(kw["page"])
        kw["parent_id"] = kw["parent_id"] or ""
        kw["label"] = kw["label"] or ""
        kw["block"] = kw["block"] or ""
        objs.append(Unit(**kw))
    doc = res.documents[res.documents["doc_id"] == doc_id].iloc[0]
    header = f"{doc_id} — {doc.get('commune') or 'commune non indiquée'}"
    if doc.get("legislature"):
        header += f" — législature {doc['legislature']}"
    print(header)
    themes = None
    if args.themes and "themes" in units.columns:
        themes = dict(zip(units["unit_id"], units["themes"].fillna(""), strict=True))
    print(render_tree(objs, width=args.width, color=color, themes=themes))
    return 0


def _cmd_evaluate(args) -> int:
    from pipeline.runner import run_evaluation

    result, code = _guarded(args.out, lambda: run_evaluation(
        args.corpus, args.out, annotations=args.annotations, heldout=args.heldout,
        lodo=not args.no_lodo, n_process=args.processes, quiet=args.quiet, force=args.force,
        wait=args.wait))
    return result if code is None else code


def _cmd_trace(args) -> int:
    from pipeline.results import load_results
    from pipeline.trace.render import render_trace, trace_docs

    try:
        res = load_results(args.out)
        trace = res.tables.get("trace")
        if trace is None or not len(trace):
            print("aucun plan stratégique (PST) relié à une déclaration dans cette analyse : "
                  "ajoutez le PST du CPAS au corpus (même commune et même mandature, ou la "
                  "colonne pair_of de metadata.csv) puis relancez make analyze", file=sys.stderr)
            return EXIT_USAGE
        versions = res.tables.get("versions")
        docs = trace_docs(args.doc_id, res.documents, trace, versions)
    except (FileNotFoundError, ValueError) as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return EXIT_USAGE
    color = sys.stdout.isatty() if args.color is None else args.color
    print("\n\n".join(render_trace(d, trace, versions, width=args.width, color=color)
                      for d in docs))
    return 0


def _cmd_evaluate_trace(args) -> int:
    from pipeline.runner import analyze
    from pipeline.steps.trace_evaluation import run_trace_evaluation

    missing = [f for f in args.folders if not f.is_dir()]
    if missing:
        print(f"erreur : dossier introuvable : {missing[0]} (indiquez un dossier de "
              "déclarations, de plans et de gold_links.csv)", file=sys.stderr)
        return EXIT_USAGE
    result, code = _guarded(args.out, lambda: run_trace_evaluation(
        args.folders, args.out, analyze, fit=args.fit, write=args.write, n_process=args.processes,
        quiet=args.quiet, force=args.force, wait=args.wait))
    return result if code is None else code


def _cmd_peers(args) -> int:
    from pipeline.compare import benchmark
    from pipeline.results import load_results, resolve_doc

    try:
        res = load_results(args.out)
        print(benchmark(resolve_doc(args.doc_id, res.documents), res.tables).to_text())
    except (FileNotFoundError, ValueError) as exc:
        print(f"erreur : {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def _cmd_profile(args) -> int:
    from pipeline.classify.codebook import load_codebook
    from pipeline.compare.peers import peer_group
    from pipeline.report.profile import PdfUnavailable, write_profile
    from pipeline.results import load_results, resolve_doc

    def run():
        res = load_results(args.out)
        doc_id = resolve_doc(args.doc_id, res.documents)
        group = peer_group(res.documents, doc_id, args.peers)
        html_path = write_profile(args.out, doc_id, res, load_codebook(), group,
                                  spec=args.peers or None)
        print(f"Profil : {html_path} ({len(group.doc_ids)} pair(s) : {group.description})")
        if args.pdf:
            from pipeline.report.profile import html_to_pdf

            try:
                pdf = html_to_pdf(html_path, html_path.with_suffix(".pdf"))
                print(f"PDF : {pdf}")
            except PdfUnavailable as exc:
                print(f"attention : {exc}", file=sys.stderr)
        return 0

    result, code = _guarded(args.out, run)
    return result if code is None else code


def _cmd_import_qdpx(args) -> int:
    def run():
        from pipeline.classify.annotations import load_annotations, normalise_text
        from pipeline.export.qdpx import import_qdpx, write_annotations

        new = import_qdpx(args.file, include_machine=args.include_machine)
        n_skip = new.attrs.get("n_machine_only", 0)
        for line in new.attrs.get("warnings", []):
            print(f"attention : {line}", file=sys.stderr)
        old = None if args.replace else load_annotations(args.into)
        n_replaced = 0
        if old is not None and len(old):
            import pandas as pd

            def keys(df):  # same document, same text give or take final marks ("…;*")
                return df["doc_id"].astype(str) + "\x00" + df["text"].map(
                    lambda t: normalise_text(t).rstrip(" *;.,:!"))

            taken = set(keys(new))
            kept = old[~keys(old).isin(taken)]
            n_replaced = len(old) - len(kept)
            new = pd.concat([kept, new[kept.columns.intersection(new.columns)]],
                            ignore_index=True)
        write_annotations(new, args.into)
        print(f"{args.into} : {len(new)} ligne(s) ; {n_replaced} remplacée(s) par la relecture"
              + (f" ; {n_skip} passage(s) codé(s) par la seule machine laissé(s) de côté"
                 if n_skip else "")
              + ". Relancez make analyze pour réentraîner le modèle sur ces annotations.")
        return 0

    result, code = _guarded(args.into.parent, run)
    return result if code is None else code


COMMANDS = {"analyze": _cmd_analyze, "analyse": _cmd_analyze, "show": _cmd_show,
            "evaluate": _cmd_evaluate, "peers": _cmd_peers, "trace": _cmd_trace,
            "evaluate-trace": _cmd_evaluate_trace, "profile": _cmd_profile,
            "import-qdpx": _cmd_import_qdpx}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    from pipeline.procs import Terminated, terminate_cleanly

    try:
        with terminate_cleanly():  # SIGTERM: children stopped, every clean-up runs
            return COMMANDS[args.command](args)
    except Terminated as exc:
        print("interrompu (SIGTERM) : analyse arrêtée, aucun processus laissé derrière ; les "
              "résultats déjà dans le dossier de sortie sont complets (écrits en entier ou pas "
              "du tout) : relancez la même commande pour terminer", file=sys.stderr)
        return int(exc.code)
