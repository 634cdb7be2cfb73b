"""Inter-annotator agreement between first_pass.csv and second_pass.csv (per-theme Cohen's kappa)."""
import csv
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
CODEBOOK = HERE.parents[1] / "pipeline" / "data" / "codebook.toml"
THEMES = re.findall(r'^id = "(\w+)"', CODEBOOK.read_text(encoding="utf-8"), re.M)


def load(path):
    with open(path, encoding="utf-8", newline="") as f:
        return {r["item"]: {t.strip() for t in (r["themes"] or "").split(";") if t.strip()}
                for r in csv.DictReader(f)}


def kappa(a, b):
    n = len(a)
    po = sum(x == y for x, y in zip(a, b)) / n
    pa, pb = sum(a) / n, sum(b) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    if pe == 1:
        return float("nan")  # both passes constant: kappa undefined
    return (po - pe) / (1 - pe)


first, second = load(HERE / "first_pass.csv"), load(HERE / "second_pass.csv")
items = sorted(first, key=int)
assert set(items) == set(second) and len(items) == 130, "item sets differ"
unknown = set().union(*first.values(), *second.values()) - set(THEMES)
if unknown:
    print("WARNING unknown theme ids:", unknown)

rows = []
for t in THEMES:
    a = [t in first[i] for i in items]
    b = [t in second[i] for i in items]
    rows.append((t, sum(a), sum(b), kappa(a, b)))

# overall: kappa on the pooled 130 x 19 binary decisions
A = [t in first[i] for t in THEMES for i in items]
B = [t in second[i] for t in THEMES for i in items]
rows.append(("overall", sum(A), sum(B), kappa(A, B)))

tp = sum(x and y for x, y in zip(A, B))
fp = sum(y and not x for x, y in zip(A, B))
fn = sum(x and not y for x, y in zip(A, B))
micro_f1 = 2 * tp / (2 * tp + fp + fn)
exact = sum(first[i] == second[i] for i in items) / len(items)
per_theme = [k for _, _, _, k in rows[:-1] if k == k]
macro_k = sum(per_theme) / len(per_theme)

print(f"{'theme':<26}{'n_first':>8}{'n_second':>9}{'kappa':>8}")
for t, n1, n2, k in rows:
    print(f"{t:<26}{n1:>8}{n2:>9}{k:>8.3f}")
print(f"\nmean per-theme kappa (macro): {macro_k:.3f}")
print(f"micro-F1 (pass 2 vs pass 1): {micro_f1:.3f}  (tp={tp}, fp={fp}, fn={fn})")
print(f"identical label sets: {exact:.1%} ({round(exact * len(items))}/{len(items)})")

with open(HERE / "kappa.csv", "w", encoding="utf-8", newline="") as f:
    w = csv.writer(f)
    w.writerow(["theme", "n_first", "n_second", "kappa"])
    for t, n1, n2, k in rows:
        w.writerow([t, n1, n2, f"{k:.3f}"])
