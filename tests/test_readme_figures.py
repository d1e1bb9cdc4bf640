"""Every result quoted in the documentation comes from a committed result file.

A quoted figure is followed, on the same line, by a comment naming its
source: `57.11 <!-- figure: benchmarks/results/bible_modernize/metrics.json#/beam4/bleu -->`.
The key path is a JSON pointer whose segments may also select one element of
a list by its fields (`/results/[cell=lstm,units=256]/train_ratio`), and may
end with `*100` for a percentage. The test reads the value and checks that
the figure is that value rounded as printed, and that the source file has
the command and the commit that produced it beside it (in the JSON itself,
or in a `command.txt` / `<name>.command.txt` next to it). Any decimal number
or percentage in the prose without such a comment fails the test.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOCUMENTS = ["README.md", "benchmarks/README.md"] + sorted(
    str(path.relative_to(ROOT)) for path in (ROOT / "docs").glob("*.md")
)

FIGURE = re.compile(r"<!--\s*figure:\s*(?P<path>[^#\s]+)#(?P<key>[^>]*?)\s*-->")
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
# A decimal number or a percentage: what reads as a measured result.
RESULT_LIKE = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+%?|%)(?![\w.])")
# Numbers that are not results: versions and licence names.
NOT_A_RESULT = re.compile(r"(?:Python ≥ |Python >= |Apache |Apache License |version |Keras |TensorFlow )\d+(?:\.\d+)*")
COMMIT = re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b")


def _prose_lines(text):
    """Yields (line number, line) outside fenced code blocks, inline code removed."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.startswith("    "):
            continue
        yield number, re.sub(r"`[^`]*`", "", line)


def _resolve(data, key):
    """The value at JSON-pointer-like `key` (see the module docstring)."""
    scale = 1.0
    if "*" in key:
        key, factor = key.rsplit("*", 1)
        scale = float(factor)
    value = data
    for segment in key.strip("/").split("/"):
        selector = re.fullmatch(r"\[(.+)\]", segment)
        if selector:
            wanted = dict(part.split("=", 1) for part in selector.group(1).split(","))
            matches = [
                item for item in value
                if all(str(item.get(k)).lower() == v.lower() for k, v in wanted.items())
            ]
            assert len(matches) == 1, f"{segment!r} selects {len(matches)} elements"
            value = matches[0]
        elif isinstance(value, list):
            value = value[int(segment)]
        else:
            value = value[segment]
    return float(value) * scale


def _provenance(path):
    """Text that records how `path` was produced: its command and commit."""
    texts = []
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        texts.append(json.dumps(data.get("command", "")) + json.dumps(data.get("commands", "")))
        texts.append(json.dumps(data.get("versions", "")) + json.dumps(data.get("settings", ""))
                     + str(data.get("code", "")))
    # The nearest command.txt in its directory or above, up to results/.
    directory = path.parent
    while True:
        if (directory / "command.txt").exists():
            texts.append((directory / "command.txt").read_text())
            break
        if directory == RESULTS or RESULTS not in directory.parents:
            break
        directory = directory.parent
    # Or `<prefix>.command.txt` beside it, the longest prefix of its name.
    siblings = [p for p in path.parent.glob("*.command.txt") if path.stem.startswith(p.name[: -len(".command.txt")])]
    if siblings:
        texts.append(max(siblings, key=lambda p: len(p.name)).read_text())
    return "\n".join(texts)


def _figures():
    """Yields (document, line number, text before the comment, source, key)."""
    for document in DOCUMENTS:
        text = (ROOT / document).read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), start=1):
            start = 0
            for match in FIGURE.finditer(line):
                yield document, number, line[start : match.start()], match["path"], match["key"]
                start = match.end()


def _check(document, line_number, before, source, key):
    """The problem with one quoted figure, or None."""
    where = f"{document}:{line_number}"
    path = ROOT / source
    if not path.is_file() or RESULTS not in path.parents:
        return f"{where}: {source} is not a file under benchmarks/results/"
    numbers = NUMBER.findall(re.sub(r"<!--.*?-->", "", before))
    if not numbers:
        return f"{where}: no number before the figure comment for {source}#{key}"
    printed = numbers[-1].replace(",", "")
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    try:
        value = _resolve(json.loads(path.read_text()), key)
    except (KeyError, IndexError, ValueError, TypeError, AssertionError) as error:
        return f"{where}: {source}#{key} does not resolve: {error!r}"
    if f"{value:.{decimals}f}" != printed:
        return f"{where}: prints {printed}, but {source}#{key} is {value!r}"
    provenance = _provenance(path)
    if "python" not in provenance or not COMMIT.search(provenance):
        return f"{where}: {source} has no command and commit recorded beside it"
    return None


def test_every_quoted_figure_matches_its_result_file():
    figures = list(_figures())
    documents = [figure[0] for figure in figures]
    assert documents.count("README.md") >= 5 and documents.count("benchmarks/README.md") >= 50
    problems = [problem for problem in (_check(*figure) for figure in figures) if problem]
    assert not problems, "\n".join(problems)


def test_the_check_catches_a_wrong_figure_and_a_missing_source():
    figure = ("README.md", 1, "BLEU 57.61 ", "benchmarks/results/bible_modernize/metrics.json", "/beam4/bleu")
    assert "prints 57.61" in _check(*figure)
    assert _check(*figure[:2], "BLEU 57.60 ", *figure[3:]) is None
    assert "not a file" in _check(*figure[:2], "BLEU 57.60 ", "benchmarks/results/none.json", "/x")


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_result_in_the_prose_names_its_file(document):
    text = (ROOT / document).read_text(encoding="utf-8")
    unsourced = []
    for number, line in _prose_lines(text):
        line = NOT_A_RESULT.sub("", line)
        for match in RESULT_LIKE.finditer(line):
            after = line[match.end() :]
            if not re.match(r"[\s*%×)]*<!--\s*figure:", after):
                unsourced.append(f"{document}:{number}: {match.group()}")
    assert not unsourced, "figures without a <!-- figure: FILE#KEY --> source:\n" + "\n".join(unsourced)


def test_readme_is_a_short_user_guide():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 260


@pytest.mark.parametrize("document", ["README.md", "benchmarks/README.md"])
def test_no_commit_hashes_or_issue_numbers_in_the_prose(document):
    text = re.sub(r"<!--.*?-->", "", (ROOT / document).read_text(encoding="utf-8"))
    assert not COMMIT.findall(text), COMMIT.findall(text)
    issues = re.findall(r"(?<![\w&/])#\d+\b", text)
    assert not issues, issues
