"""The installed environment: every reader's library works, everything qa imports is declared, and the
lock (.ci/requirements.lock) pins the whole tree that `make setup` installs.

The readers' libraries are exercised, not just imported: an HTML page goes through trafilatura, whose
import chain reaches justext and lxml.html.clean (a separate package, lxml_html_clean, since lxml 5.2;
without it every HTML file is unreadable), an AES-encrypted PDF is read (pypdf needs cryptography for AES),
a .docx is read, a folder is watched, and ONNX Runtime, FAISS and tokenizers each compute something.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from qa.sources import read
from tests.conftest import REPO
from tests.fixtures.make import report_docx, report_pdf

LOCK = REPO / ".ci" / "requirements.lock"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")

#: What the readers and the engine need at run time, each declared directly in `dependencies`: a package
#: reached only through another one's extra (lxml[html_clean]) is left out by pip 23.2, Python 3.11's own.
READER_PACKAGES = {"trafilatura", "lxml", "lxml-html-clean", "pypdf", "cryptography", "python-docx",
                   "watchfiles", "onnxruntime", "faiss-cpu", "tokenizers"}


def _lock() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _PIN.match(line)
        assert match, f"not an exact pin in {LOCK.name}: {line!r}"
        pins[canonicalize_name(match[1])] = match[2]
    return pins


def _requirements() -> list[Requirement]:
    """Everything pyproject.toml asks for (dependencies and every extra), less qa's own extras."""
    project = PYPROJECT["project"]
    texts = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        texts += extra
    return [r for r in map(Requirement, texts) if canonicalize_name(r.name) != "qa"]


# --- every reader's library, exercised -------------------------------------------------------------------

def test_html_is_read_through_trafilatura_justext_and_lxml_html_clean(tmp_path: Path) -> None:
    import justext
    from lxml.html.clean import Cleaner   # lxml's shim: raises ImportError when lxml_html_clean is missing

    page = ("<html><head><title>Barn owls</title></head><body><nav><a href='/'>Home</a></nav>"
            "<main><h1>Barn owls</h1><p>Barn owls hunt voles at night over rough grassland near the river, "
            "and they nest in old barns, church towers and hollow trees.</p>"
            "<p>The survey counted twenty-three nests in the valley this year.</p></main></body></html>")
    cleaned = Cleaner(scripts=True).clean_html("<div><script>x()</script><p>kept</p></div>")
    assert "kept" in cleaned and "script" not in cleaned
    paragraphs = justext.justext(page.encode(), justext.get_stoplist("English"), length_low=20, length_high=60)
    assert [p.text for p in paragraphs if not p.is_boilerplate][-2:] == [
        "Barn owls hunt voles at night over rough grassland near the river, and they nest in old barns, "
        "church towers and hollow trees.", "The survey counted twenty-three nests in the valley this year."]

    (tmp_path / "owls.html").write_text(page, encoding="utf-8")
    document = read(tmp_path / "owls.html", tmp_path)
    assert document.kind == "html" and document.title == "Barn owls"
    assert "Barn owls hunt voles at night" in document.text
    assert "twenty-three nests" in document.text and "Home" not in document.text


def test_an_aes_encrypted_pdf_is_read(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(report_pdf())))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()
    assert PdfReader(io.BytesIO(data)).trailer["/Encrypt"]["/CF"]["/StdCF"]["/CFM"] == "/AESV2"

    (tmp_path / "report.pdf").write_bytes(data)
    document = read(tmp_path / "report.pdf", tmp_path)
    assert "Barn owls hunt voles at night" in document.text
    assert not document.notes


def test_a_docx_is_read(tmp_path: Path) -> None:
    (tmp_path / "survey.docx").write_bytes(report_docx())
    document = read(tmp_path / "survey.docx", tmp_path)
    assert document.title == "Owl Survey"
    assert "Volunteers walked fixed routes at dusk." in document.text


def test_watchfiles_sees_a_new_file(tmp_path: Path) -> None:
    import watchfiles

    changes = watchfiles.watch(tmp_path, yield_on_timeout=True, rust_timeout=100, debounce=50,
                               raise_interrupt=False)
    assert next(changes) == set()          # the watcher is running (nothing happened yet)
    (tmp_path / "new.txt").write_text("owls\n")
    seen: set[tuple[watchfiles.Change, str]] = set()
    for _ in range(200):                   # up to 20 s on a loaded machine; a working watcher needs one
        seen |= next(changes)
        if any(path.endswith("new.txt") for _, path in seen):
            break
    changes.close()
    assert (watchfiles.Change.added, str(tmp_path / "new.txt")) in seen


def test_onnxruntime_runs_a_model() -> None:
    import numpy as np
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor("w", TensorProto.FLOAT, [2, 2], [0.0, 1.0, 1.0, 0.0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"x": np.array([[2.0, 3.0]], dtype=np.float32)})
    assert y.tolist() == [[3.0, 2.0]]


def test_faiss_searches() -> None:
    import faiss
    import numpy as np

    vectors = np.eye(4, 8, dtype=np.float32)
    flat = faiss.IndexFlatIP(8)
    flat.add(vectors)
    scores, ids = flat.search(vectors[2:3], 1)
    assert ids.tolist() == [[2]] and scores.tolist() == [[1.0]]


def test_tokenizers_encodes() -> None:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    tokenizer = Tokenizer(WordLevel({"[UNK]": 0, "barn": 1, "owls": 2}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    assert tokenizer.encode("barn owls hunt").ids == [1, 2, 0]


# --- what qa imports is declared; the lock pins it all; the environment is the lock's --------------------

def _imported_top_level(folder: Path) -> set[str]:
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"qa", "__future__"}


def test_every_package_qa_imports_is_declared() -> None:
    declared = {canonicalize_name(r.name) for r in _requirements()}
    providers = metadata.packages_distributions()
    missing = {}
    for module in sorted(_imported_top_level(REPO / "qa")):
        distributions = {canonicalize_name(d) for d in providers.get(module, [])}
        if not distributions & declared:
            missing[module] = sorted(distributions) or "not installed"
    assert not missing, f"imported by qa/ but not declared in pyproject.toml: {missing}"
    runtime = {canonicalize_name(Requirement(text).name) for text in PYPROJECT["project"]["dependencies"]}
    assert READER_PACKAGES <= runtime, f"declare directly in dependencies: {sorted(READER_PACKAGES - runtime)}"


def test_the_lock_pins_everything_pyproject_asks_for() -> None:
    pins = _lock()
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in {LOCK.name}: refresh it (make lock)"
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"{LOCK.name} pins {name}=={pins[name]}, outside pyproject.toml's {requirement}: refresh it (make lock)"
    assert pins["torch"] == "2.13.0"     # as setup asks for it: the local CPU wheel; any other pulls CUDA
    assert "pip" in pins and "setuptools" in pins and "qa" not in pins


def test_the_environment_is_the_lock() -> None:
    """What `make setup` installed is exactly what the lock says (so every machine runs the same versions)."""
    differ = {}
    for name, pinned in _lock().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            differ[name] = (pinned, None)
            continue
        if Version(installed).public != Version(pinned).public:   # torch 2.13.0+cpu is the lock's 2.13.0
            differ[name] = (pinned, installed)
    assert not differ, f"installed versions differ from {LOCK.name} (locked, installed): {differ}; run make setup"


def test_every_data_file_qa_reads_is_packaged() -> None:
    """The weights qa reads at run time (verdict.json, ranker.json) are package data: a wheel without them
    could not answer."""
    declared = {f"{package.replace('.', '/')}/{name}"
                for package, names in PYPROJECT["tool"]["setuptools"]["package-data"].items() for name in names}
    data = {str(p.relative_to(REPO)) for p in (REPO / "qa").rglob("*.json")}
    assert data and data <= declared
