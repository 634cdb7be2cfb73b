"""``python -m benchmarks`` (``make benchmark``): speed and memory of ``make analyze`` on a
synthetic corpus (benchmarks/perf.py, benchmarks/synth.py). Not part of the installed
package: run it from a checkout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Génère un corpus synthétique, l'analyse à froid, à chaud et avec un "
                    "document ajouté ; écrit OUT/benchmark.json (make benchmark).")
    p = parser
    p.add_argument("--out", type=Path, default=Path("outputs"),
                   help="dossier où écrire benchmark.json (défaut : outputs)")
    p.add_argument("--n-docs", type=int, default=300,
                   help="nombre de déclarations synthétiques (défaut : 300)")
    p.add_argument("--processes", type=int, default=2,
                   help="processus pour l'analyse (défaut : 2)")
    p.add_argument("--workdir", type=Path, default=None,
                   help="dossier de travail du corpus synthétique (défaut : temporaire)")
    p.add_argument("--seed", type=int, default=0,
                   help="graine du générateur du corpus synthétique (défaut : 0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from benchmarks.perf import run_benchmark

    run_benchmark(args.out, n_docs=args.n_docs, workdir=args.workdir, n_process=args.processes,
                  seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
