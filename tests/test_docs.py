"""The documentation: `docs/build.py` builds a page per public module and the
guides, and every public class and function has a docstring to show there."""

import importlib
import importlib.util
import inspect
from pathlib import Path

import pytest

pytest.importorskip("pdoc")

ROOT = Path(__file__).resolve().parent.parent


def _load_build():
    spec = importlib.util.spec_from_file_location("kerasrnn_docs_build", ROOT / "docs" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build()


def _public_objects(module):
    """(name, object) for the module's public classes and functions.

    The names are its `__all__` when it has one (lazily imported names
    included); otherwise the public names it defines itself.
    """
    names = getattr(module, "__all__", None)
    explicit = names is not None
    if not explicit:
        names = [name for name in vars(module) if not name.startswith("_")]
    for name in names:
        value = getattr(module, name)
        if not (inspect.isclass(value) or inspect.isfunction(value)):
            continue
        if not explicit and getattr(value, "__module__", None) != module.__name__:
            continue  # imported from elsewhere: checked where it is defined
        yield name, value


def test_public_modules_cover_the_package_and_leave_out_the_applications():
    modules = build.public_modules()
    assert modules[0] == "kerasrnn"
    for name in ("kerasrnn.layers", "kerasrnn.ops", "kerasrnn.memory", "kerasrnn.seq2seq", "kerasrnn.embeddings",
                 "kerasrnn.data"):
        assert name in modules
    assert not [name for name in modules if name.startswith("kerasrnn.pipelines") or "._" in name]


def test_build_writes_a_page_per_public_module_and_the_guides(tmp_path):
    build.build(tmp_path)
    missing = [
        name for name in build.public_modules()
        if not (tmp_path / (name.replace(".", "/") + ".html")).is_file()
    ]
    assert not missing, f"no reference page for {missing}"
    layers = (tmp_path / "kerasrnn" / "layers.html").read_text(encoding="utf-8")
    assert "LSTMCell" in layers and "GRU" in layers
    assert not list(tmp_path.glob("kerasrnn/pipelines*"))
    for guide in build.guides():
        assert (tmp_path / f"{guide.stem}.html").is_file()
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert 'href="kerasrnn.html"' in index and 'href="pipelines.html"' in index
    assert 'href="notebooks.html"' in index


def test_every_notebook_renders_with_its_figures(tmp_path):
    import json

    assert build.NOTEBOOKS, "no notebooks to render"
    pages = build.render_notebooks(tmp_path)
    assert [page.stem for page in pages] == [path.stem for path in build.NOTEBOOKS]
    listing = (tmp_path / "notebooks.html").read_text(encoding="utf-8")
    for path, page in zip(build.NOTEBOOKS, pages):
        assert f'href="notebooks/{path.stem}.html"' in listing
        stored = json.loads(path.read_text(encoding="utf-8"))
        figures = sum(
            "image/png" in output.get("data", {})
            for cell in stored["cells"] if cell["cell_type"] == "code"
            for output in cell.get("outputs", [])
        )
        html = page.read_text(encoding="utf-8")
        assert html.count('src="data:image/png;base64,') == figures, f"{page.name}: figures missing"
        title = next(cell for cell in stored["cells"] if cell["cell_type"] == "markdown")
        assert build._title("".join(title["source"]), "") in html
        assert 'href="../index.html"' in html  # the site's navigation, one level up


def test_every_public_module_class_and_function_has_a_docstring():
    undocumented = []
    for module_name in build.public_modules():
        module = importlib.import_module(module_name)
        if not (module.__doc__ or "").strip():
            undocumented.append(f"{module_name} (module)")
        for name, value in _public_objects(module):
            # A class's own docstring: one inherited from a Keras base class
            # says nothing about it.
            doc = vars(value).get("__doc__") if inspect.isclass(value) else value.__doc__
            if not (doc or "").strip():
                undocumented.append(f"{module_name}.{name}")
    assert not undocumented, "public names without a docstring:\n" + "\n".join(sorted(set(undocumented)))
