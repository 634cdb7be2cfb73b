"""The exploration notebook runs headless on the analysed seed corpus, using only the public API."""

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"
pytestmark = pytest.mark.slow


def test_notebook_uses_only_the_public_api():
    import pipeline

    nb = json.loads(NOTEBOOK.read_text())
    src = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    imports = [line for line in src.splitlines() if "pipeline" in line and "import" in line]
    assert imports, "the notebook should import from pipeline"
    for line in imports:
        assert line.startswith("from pipeline import "), line
        names = [n.strip() for n in line.split("import", 1)[1].split(",")]
        assert set(names) <= set(pipeline.__all__), names


def test_notebook_executes(seed_run, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("CPAS_COMPARE_OUTPUTS", str(seed_run.out))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("data" in o and "image/png" in o["data"] for o in outputs), "heatmap not drawn"
    assert os.environ["CPAS_COMPARE_OUTPUTS"] == str(seed_run.out)
