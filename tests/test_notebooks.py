"""The tutorial notebooks: their stored outputs are a full run of their
current code, and every notebook runs in quick mode (`KERASRNN_QUICK=1`).

`notebooks/execute.py` (`make notebooks`) runs them in full and stores the
outputs with a digest of the code cells; the first tests here read those
files only. The quick-mode test runs each notebook top to bottom in a fresh
`python3` kernel, in a temporary working directory (so whatever it writes
stays out of the repository), on a copy with the outputs cleared.
"""

import importlib.util
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
QUICK_CELL_TIMEOUT_S = 300
#: What one stored notebook may weigh: a few small figures and tables.
MAX_STORED_BYTES = 1_500_000


def _load_execute():
    spec = importlib.util.spec_from_file_location("kerasrnn_notebooks_execute", NOTEBOOK_DIR / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


execute = _load_execute()


def _plots(notebook):
    """Whether any code cell of `notebook` draws a figure."""
    return any(
        cell["cell_type"] == "code" and ("plot" in execute._source(cell) or "display(" in execute._source(cell))
        for cell in notebook["cells"]
    )


def _png_outputs(notebook):
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
    )


def test_notebooks_exist():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"
    assert execute.NOTEBOOKS == NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_outputs_are_a_full_run_of_the_current_code(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    reasons = execute.stale_reasons(notebook)
    assert not reasons, f"{path.name}: {'; '.join(reasons)}; run `make notebooks` (python notebooks/execute.py {path.relative_to(ROOT)})"
    if _plots(notebook):
        assert _png_outputs(notebook) >= 1, f"{path.name} plots but stores no image/png output"
    size = path.stat().st_size
    assert size <= MAX_STORED_BYTES, f"{path.name} weighs {size:,} bytes with its outputs (at most {MAX_STORED_BYTES:,})"


def test_staleness_is_detected_from_the_code_cells_only():
    notebook = json.loads(NOTEBOOKS[0].read_text(encoding="utf-8"))
    digest = execute.code_digest(notebook)
    markdown = next(cell for cell in notebook["cells"] if cell["cell_type"] == "markdown")
    markdown["source"] = "# another title\n"
    assert execute.code_digest(notebook) == digest
    code = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    code["source"] = execute._source(code) + "\nprint('edited')\n"
    assert execute.code_digest(notebook) != digest
    notebook.setdefault("metadata", {}).setdefault("kerasrnn", {"mode": "full"})["code_sha256"] = digest
    assert "a code cell changed after the stored run" in execute.stale_reasons(notebook)
    del notebook["metadata"]["kerasrnn"]
    assert execute.stale_reasons(notebook) == ["never executed with notebooks/execute.py (no metadata.kerasrnn)"]


def test_clean_stream_keeps_what_a_terminal_shows():
    progress = "1/3 [==>...]\r2/3 [=====>..]\r3/3 [========] - loss: 0.5\nEpoch 2\x1b[0m done\n"
    assert execute.clean_stream(progress) == "3/3 [========] - loss: 0.5\nEpoch 2 done\n"
    assert execute.clean_stream("abc\b\bX\n") == "aX\n"
    long = "\n".join(str(i) for i in range(100))
    cleaned = execute.clean_stream(long, max_lines=9).split("\n")
    assert cleaned[:6] == [str(i) for i in range(6)] and cleaned[-3:] == ["97", "98", "99"]
    assert cleaned[6] == "[... 91 lines left out ...]"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_quick_mode(path, tmp_path):
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    first_code = next(c for c in notebook.cells if c.cell_type == "code")
    assert "KERASRNN_QUICK" in first_code.source, f"{path.name}: first code cell must read KERASRNN_QUICK"
    execute.run(notebook, tmp_path, quick=True, timeout=QUICK_CELL_TIMEOUT_S, name=path.name)
    if _plots(notebook):
        assert _png_outputs(notebook) >= 1, f"{path.name} plots but produced no image/png output"


def test_a_failing_cell_is_named(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os\nQUICK = os.environ.get('KERASRNN_QUICK') == '1'"),
        nbformat.v4.new_code_cell("x = 1\nraise ValueError(f'bad x={x}')"),
    ])
    with pytest.raises(execute.NotebookError, match=r"demo.ipynb: code cell 2 \('x = 1'\) raised ValueError: bad x=1"):
        execute.run(notebook, tmp_path, quick=True, timeout=60, name="demo.ipynb")


def test_clean_outputs_drops_tensorflow_start_up_logging_and_empty_streams():
    import nbformat

    noise = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
             "I0000 00:00:1796617126.161008   15514 port.cc:153] oneDNN custom operations are on.\n")
    cell = nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stderr", text=noise),
        nbformat.v4.new_output("stream", name="stderr", text=noise + "UserWarning: a real warning\n"),
        nbformat.v4.new_output("stream", name="stdout", text="I0000 00:00:1.0   1 a.cc:1] printed by the cell\n"),
    ])
    notebook = nbformat.v4.new_notebook(cells=[cell])
    execute.clean_outputs(notebook)
    assert [(o["name"], o["text"]) for o in cell.outputs] == [
        ("stderr", "UserWarning: a real warning\n"),
        ("stdout", "I0000 00:00:1.0   1 a.cc:1] printed by the cell\n"),
    ]
