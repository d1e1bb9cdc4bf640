"""Executes every tutorial notebook in quick mode (`KERASRNN_QUICK=1`).

Each notebook runs top to bottom in a fresh `python3` kernel, in a temporary
working directory (so whatever it writes stays out of the repository); the
test fails if a cell raises, if the notebook is stored with outputs, or if a
notebook that plots produced no PNG.
"""

import os
import pathlib

import pytest

NOTEBOOK_DIR = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT_S = 300


def _plots(notebook):
    """Whether any code cell of `notebook` draws a figure."""
    return any(
        cell.cell_type == "code" and ("plot" in cell.source or "display(" in cell.source)
        for cell in notebook.cells
    )


def _png_outputs(notebook):
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


def test_notebooks_exist():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    stored = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and c.get("outputs")]
    assert not stored, f"{path.name}: cells {stored} were committed with outputs; clear them"
    first_code = next(c for c in notebook.cells if c.cell_type == "code")
    assert 'KERASRNN_QUICK' in first_code.source, f"{path.name}: first code cell must read KERASRNN_QUICK"

    env = {**os.environ, "KERASRNN_QUICK": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.setdefault("KERAS_BACKEND", "tensorflow")
    saved_env = dict(os.environ)
    os.environ.update(env)  # the kernel inherits the test process environment
    try:
        client = nbclient.NotebookClient(
            notebook,
            kernel_name="python3",
            timeout=CELL_TIMEOUT_S,
            resources={"metadata": {"path": str(tmp_path)}},
        )
        client.execute()  # raises CellExecutionError on the first failing cell
    finally:
        os.environ.clear()
        os.environ.update(saved_env)

    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors, f"{path.name}: cells raised: {[e['ename'] for e in errors]}"
    if _plots(notebook):
        assert _png_outputs(notebook) >= 1, f"{path.name} plots but produced no image/png output"
