"""Executes the tutorial notebooks in full and stores their outputs in them.

    python notebooks/execute.py                          # every notebook, in full
    python notebooks/execute.py notebooks/06_*.ipynb     # only these
    python notebooks/execute.py --check                  # are the stored outputs current?

(`make notebooks` runs the first.) Each notebook runs top to bottom in a fresh
`python3` kernel on the TensorFlow backend, in a temporary working directory,
without `KERASRNN_QUICK`: the full budgets its first cell sets. The stored
result is what a reader sees on a code host or in the rendered docs:

* every code cell's outputs, with progress bars and terminal control
  characters reduced to their final text and long streams cut in the middle;
* a note under the title saying when, with which versions, on what machine
  and in how long the stored run was made;
* `metadata.kerasrnn` with the same facts and `code_sha256`, a digest of the
  code cells' sources. Editing a code cell without re-executing the notebook
  makes the stored outputs stale, and `--check` (and `tests/test_notebooks.py`)
  says so.

A cell that raises stops that notebook: the cell's number, its first line
and the error are printed, the file is left as it was, and the exit status
is 1.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parent
#: The tutorials, in reading order.
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
METADATA_KEY = "kerasrnn"
#: The tag of the markdown cell that describes the stored run.
NOTE_TAG = "execution-note"
#: A stream output longer than this many lines keeps its head and tail.
MAX_STREAM_LINES = 60
#: The most a full run may spend in one cell.
CELL_TIMEOUT_S = 3600
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: TensorFlow's C++ start-up logging on stderr ("I0000 00:00:... port.cc:153] oneDNN ..."),
#: which TF_CPP_MIN_LOG_LEVEL does not silence before absl is initialised: not the tutorial's output.
_TF_LOG_LINE = re.compile(r"^(?:[IWE]\d{4} \d\d:\d\d:[\d.]+ +\d+ \S+:\d+\]|WARNING: All log messages before absl)")


def code_digest(notebook):
    """The SHA-256 of the notebook's code cells' sources, in order."""
    sources = [_source(cell) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    return hashlib.sha256(json.dumps(sources).encode("utf-8")).hexdigest()


def _source(cell):
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def clean_stream(text, max_lines=MAX_STREAM_LINES):
    """`text` as a terminal would leave it, at most `max_lines` lines long.

    Carriage returns and backspaces (progress bars redraw themselves with
    them) and ANSI colour codes are applied or dropped; a longer text keeps
    its first and last lines around a line saying how many were left out.
    """
    lines = []
    for line in _ANSI.sub("", text).split("\n"):
        line = line.rsplit("\r", 1)[-1]
        kept = []
        for char in line:
            if char == "\b":
                if kept:
                    kept.pop()
            else:
                kept.append(char)
        lines.append("".join(kept))
    if len(lines) > max_lines:
        head, tail = max_lines * 2 // 3, max_lines // 3
        lines = lines[:head] + [f"[... {len(lines) - head - tail} lines left out ...]"] + lines[-tail:]
    return "\n".join(lines)


def stale_reasons(notebook):
    """Why the stored outputs of `notebook` do not show a full run of its
    current code; an empty list when they do."""
    meta = notebook.get("metadata", {}).get(METADATA_KEY)
    if not meta:
        return ["never executed with notebooks/execute.py (no metadata.kerasrnn)"]
    reasons = []
    if meta.get("code_sha256") != code_digest(notebook):
        reasons.append("a code cell changed after the stored run")
    if meta.get("mode") != "full":
        reasons.append(f"the stored run was in {meta.get('mode')!r} mode, not 'full'")
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    unexecuted = [i for i, cell in enumerate(code, 1) if _source(cell).strip() and cell.get("execution_count") is None]
    if unexecuted:
        reasons.append(f"code cells {unexecuted} hold no stored run")
    errors = [i for i, cell in enumerate(code, 1) if any(o.get("output_type") == "error" for o in cell.get("outputs", []))]
    if errors:
        reasons.append(f"code cells {errors} stored an error")
    if not any(NOTE_TAG in cell.get("metadata", {}).get("tags", []) for cell in notebook["cells"]):
        reasons.append(f"no {NOTE_TAG!r} cell describes the stored run")
    return reasons


def _versions():
    from importlib import metadata

    versions = {}
    for name in ("kerasrnn", "keras", "tensorflow"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _machine():
    return f"{os.cpu_count()}-core {platform.machine()} CPU, no GPU"


def _duration(seconds):
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def _note(meta):
    versions = meta["versions"]
    return (
        f"*Stored outputs: a full run on {meta['executed']} with kerasrnn {versions['kerasrnn']}, "
        f"Keras {versions['keras']} and TensorFlow {versions['tensorflow']}, on a {meta['machine']}, "
        f"took {_duration(meta['wall_s'])}{_shared(meta)} (`python notebooks/execute.py`). "
        "Run it yourself with `KERASRNN_QUICK=1` for a smaller version in about a minute.*"
    )


def _shared(meta):
    load, cores = meta.get("load_average"), os.cpu_count() or 1
    if load is None or load <= cores:
        return ""
    return f" while other jobs shared the machine (load average {load} on {cores} cores)"


def _set_note(notebook, text):
    import nbformat

    for cell in notebook.cells:
        if NOTE_TAG in cell.get("metadata", {}).get("tags", []):
            cell.source = text
            return
    cell = nbformat.v4.new_markdown_cell(text, metadata={"tags": [NOTE_TAG]})
    # Under the title: the first cell when it is markdown.
    at = 1 if notebook.cells and notebook.cells[0].cell_type == "markdown" else 0
    notebook.cells.insert(at, cell)


def clean_outputs(notebook):
    """Reduces every stream output of `notebook` (an `nbformat` node) to what
    a terminal would show (`clean_stream`), without TensorFlow's C++ start-up
    logging; a stream left empty is dropped. In place."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text = clean_stream(output["text"])
                if output.get("name") == "stderr":
                    text = "\n".join(line for line in text.split("\n") if not _TF_LOG_LINE.match(line))
                if not text.strip():
                    continue
                output["text"] = text
            kept.append(output)
        cell.outputs = kept


def clear_outputs(notebook):
    """Drops every code cell's outputs and execution count, in place."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


class NotebookError(RuntimeError):
    """A cell of a notebook raised: names the cell, its first line and the error."""

    def __init__(self, name, cell_number, first_line, error):
        self.cell_number = cell_number
        super().__init__(f"{name}: code cell {cell_number} ({first_line!r}) raised {error}")


def _failing_cell(notebook):
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code, 1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                first = next((line for line in _source(cell).splitlines() if line.strip()), "")
                return number, first.strip()[:80], f"{output.get('ename')}: {output.get('evalue')}"
    return None, "", "an error nbclient did not store"


def run(notebook, cwd, quick=False, timeout=CELL_TIMEOUT_S, name="notebook"):
    """Executes `notebook` (an `nbformat` node) in place in a fresh kernel.

    Raises `NotebookError` naming the first failing cell.
    """
    import nbclient
    import nbclient.exceptions

    env = {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    saved = dict(os.environ)
    os.environ.update(env)  # the kernel inherits this process's environment
    if quick:
        os.environ["KERASRNN_QUICK"] = "1"
    else:
        os.environ.pop("KERASRNN_QUICK", None)
    try:
        clear_outputs(notebook)
        client = nbclient.NotebookClient(
            notebook, kernel_name="python3", timeout=timeout, resources={"metadata": {"path": str(cwd)}}
        )
        try:
            client.execute()
        except nbclient.exceptions.CellExecutionError as error:
            number, first, message = _failing_cell(notebook)
            if number is None:
                message = f"{error.ename}: {error.evalue}"
            raise NotebookError(name, number, first, message) from None
    finally:
        os.environ.clear()
        os.environ.update(saved)


def execute(path, timeout=CELL_TIMEOUT_S):
    """Runs the notebook at `path` in full and rewrites it with its outputs.

    Returns the stored `metadata.kerasrnn`; the file is left untouched when a
    cell fails (the error propagates).
    """
    import nbformat

    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"{path.stem}-") as cwd:
        run(notebook, cwd, quick=False, timeout=timeout, name=path.name)
    meta = {
        "mode": "full",
        "code_sha256": code_digest(notebook),
        "executed": datetime.date.today().isoformat(),
        "wall_s": round(time.monotonic() - start, 1),
        "machine": _machine(),
        # Other jobs on the machine stretch `wall_s`: the 5-minute load average at the end says how much.
        "load_average": round(os.getloadavg()[1], 1),
        "versions": _versions(),
    }
    clean_outputs(notebook)
    _set_note(notebook, _note(meta))
    notebook.metadata[METADATA_KEY] = meta
    temporary = path.with_suffix(".ipynb.tmp")
    nbformat.write(notebook, temporary)
    os.replace(temporary, path)
    return meta


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all of notebooks/)")
    parser.add_argument("--check", action="store_true", help="only say whether the stored outputs are current")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT_S, help="seconds a cell may take")
    args = parser.parse_args(argv)
    paths = args.notebooks or NOTEBOOKS
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    failed = 0
    if args.check:
        for path in paths:
            reasons = stale_reasons(json.loads(Path(path).read_text(encoding="utf-8")))
            print(f"{Path(path).name}: {'; '.join(reasons) if reasons else 'current'}")
            failed += bool(reasons)
        return 1 if failed else 0
    for path in paths:
        path = Path(path)
        print(f"{path.name}: running ...", flush=True)
        try:
            meta = execute(path, timeout=args.timeout)
        except NotebookError as error:
            print(error, file=sys.stderr, flush=True)
            failed += 1
            continue
        print(f"{path.name}: stored ({_duration(meta['wall_s'])})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
