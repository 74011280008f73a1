"""The readers' own defences: what a bad part of a file costs (the part, or the file with a reason), and the
command line's word when nothing at all can be read. The reader pool's limits: tests/test_pool.py; many
hostile files at once: tests/test_hostile.py."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import pytest

from qa.config import ReadLimits
from qa.sources import Unreadable, read
from qa.store.stored import StoredIndex
from tests.conftest import run_qa
from tests.fixtures.make import report_pdf


def _docx(document_xml: bytes, declared: int | None = None) -> bytes:
    """A minimal .docx around `document_xml` (its declared size in the zip's headers can be a lie)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml",
                         '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                         '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                         '<Default Extension="xml" ContentType="application/xml"/>'
                         '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                         'officedocument.wordprocessingml.document.main+xml"/></Types>')
        archive.writestr("_rels/.rels",
                         '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                         '<Relationship Id="r1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                         'officeDocument" Target="word/document.xml"/></Relationships>')
        archive.writestr("word/document.xml", document_xml)
    data = out.getvalue()
    if declared is not None:   # patch the central directory's uncompressed size of document.xml
        entry = data.rindex(b"PK\x01\x02", 0, data.index(b"word/document.xml", data.index(b"PK\x01\x02")))
        data = data[: entry + 24] + declared.to_bytes(4, "little") + data[entry + 28 :]
    return data


BODY = ('<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>Barn owls nest in old farm buildings near the river.</w:t></w:r></w:p></w:body></w:document>")


def test_a_docx_reads_and_its_bomb_form_is_refused_before_inflating(tmp_path: Path):
    good = tmp_path / "good.docx"
    good.write_bytes(_docx(BODY.encode()))
    assert "Barn owls nest" in read(good, tmp_path).text
    bomb = tmp_path / "bomb.docx"     # 300 MB of one repeated element, a few hundred KB on disk
    bomb.write_bytes(_docx(BODY.replace("<w:body>", "<w:body>" + "<w:p/>" * 50_000_000).encode()))
    assert bomb.stat().st_size < 2_000_000
    with pytest.raises(Unreadable, match=r"^expands past the 200 MB limit"):
        read(bomb, tmp_path)


def test_a_docx_that_lies_about_its_size_cannot_inflate_past_the_lie(tmp_path: Path):
    liar = tmp_path / "liar.docx"     # declares 100 bytes, holds 50 KB: zipfile stops at 100 and the CRC fails
    liar.write_bytes(_docx(BODY.replace("<w:body>", "<w:body>" + "<w:p/>" * 10_000).encode(), declared=100))
    with pytest.raises(Unreadable, match=r"^not a (Word document|docx file) qa can read"):
        read(liar, tmp_path)


def test_malformed_word_xml_is_named_so(tmp_path: Path):
    broken = tmp_path / "broken.docx"
    broken.write_bytes(_docx(BODY.replace("</w:body>", "<w:p>").encode()))
    with pytest.raises(Unreadable, match=r"^not a Word document qa can read \(malformed XML\)$"):
        read(broken, tmp_path)


def test_a_broken_pdf_info_costs_the_title_only(tmp_path: Path):
    data = report_pdf()
    trailer = data.rindex(b"trailer")
    info = data.index(b"/Info", trailer)
    reference = data[info : data.index(b"R", info) + 1]             # "/Info 12 0 R"
    patched = data[:info] + b"/Info [1 2 3]".ljust(len(reference)) + data[info + len(reference):]
    path = tmp_path / "info.pdf"
    path.write_bytes(patched)
    document = read(path, tmp_path)
    assert "Barn owls hunt voles" in document.text and document.title is None


def test_a_pdf_page_past_the_content_limit_is_skipped_and_the_rest_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import qa.sources.pdf as pdf

    path = tmp_path / "report.pdf"
    path.write_bytes(report_pdf())
    sizes = [len(page.get_contents().get_data()) for page in __import__("pypdf").PdfReader(path).pages]
    monkeypatch.setattr(pdf, "PAGE_CONTENT_MB", (sorted(sizes)[-1] - 1) / 1_000_000)   # the largest page is over
    document = read(path, tmp_path)
    assert any("content is over" in note and note.endswith("skipped") for note in document.notes)
    assert len({r.page for r in document.regions}) == len(sizes) - 1
    monkeypatch.setattr(pdf, "PAGE_CONTENT_MB", 8)
    with pytest.raises(Unreadable, match=r"^expands past the 0.0001 MB limit"):   # all pages together
        read(path, tmp_path, ReadLimits(expanded_mb=0.0001))


def test_when_no_file_can_be_read_each_reason_is_printed(tmp_path: Path, fake_model: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.pdf").write_bytes(b"%PDF-1.4 not really")
    (corpus / "b.docx").write_bytes(b"PK\x03\x04 not really")
    (corpus / "c.txt").write_bytes(b"\x00\x01\x02" * 100)
    result = run_qa("index", str(corpus), "--index", str(tmp_path / "ix"), "--model", str(fake_model))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[:3] == ["skipped a.pdf: not a PDF qa can read (Stream has ended unexpectedly)",
                         "skipped b.docx: not a Word document qa can read (not a zip archive)",
                         "skipped c.txt: binary, not text"]
    assert lines[3].startswith("error: No readable documents") and len(lines) == 4


@pytest.mark.parametrize("variable, value", [("QA_MAX_FILE_MB", "abc"), ("QA_READ_SECONDS", "0"),
                                             ("QA_READ_MEMORY_MB", "nan"), ("QA_READ_WORKERS", "1.5")])
def test_a_bad_setting_in_the_environment_is_one_line_and_exit_2(variable: str, value: str):
    result = run_qa("--help", env={variable: value})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: {variable}=") and result.stderr.count("\n") == 1


def test_read_limits_from_flags_reach_the_readers(tmp_path: Path, fake_model: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "big.txt").write_text("Barn owls nest near the river. " * 4000)      # 124 KB
    (corpus / "small.txt").write_text("Tawny owls stay in the beech woods.")
    result = run_qa("index", str(corpus), "--index", str(tmp_path / "ix"), "--model", str(fake_model),
                    "--max-file", "0.1")
    assert result.returncode == 0, result.stderr
    assert "skipped big.txt: 124 KB, over the 0.1 MB limit (qa index --max-file raises it)" in result.stderr
    bad = run_qa("index", str(corpus), "--index", str(tmp_path / "ix"), "--read-seconds", "-1")
    assert bad.returncode == 2 and "--read-seconds: must be more than 0" in bad.stderr


def test_a_lower_size_limit_applies_to_files_the_index_already_holds(tmp_path: Path, fake_model: Path):
    """An update does not re-read unchanged files, but one over a size limit lower than the one it was
    indexed under is skipped (and leaves the index), as a fresh build with that limit would."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "big.txt").write_text("Barn owls nest near the river. " * 4000)      # 124 KB
    (corpus / "small.txt").write_text("Tawny owls stay in the beech woods.")
    for path in corpus.iterdir():       # older than the build: recorded, so carried over unread next time
        os.utime(path, (time.time() - 60, time.time() - 60))
    index = ["--index", str(tmp_path / "ix"), "--model", str(fake_model)]
    assert run_qa("index", str(corpus), *index).returncode == 0
    result = run_qa("index", str(corpus), *index, "--max-file", "0.1")
    assert result.returncode == 0, result.stderr
    assert "skipped big.txt: 124 KB, over the 0.1 MB limit" in result.stderr
    assert [f.path for f in StoredIndex(tmp_path / "ix").files] == ["small.txt"]


def test_line_breaks_inside_a_word_paragraph_stay_lines(tmp_path: Path):
    """`<w:br/>` (a code example typed with Shift-Enter) is a line break, not a space."""
    code = "".join(f"<w:r><w:t xml:space=\"preserve\">{line}</w:t></w:r><w:r><w:br/></w:r>"
                   for line in ("import json", "data = json.loads(text)", "print(data[  'owls'  ])"))
    path = tmp_path / "code.docx"
    path.write_bytes(_docx(BODY.replace("</w:body>", f"<w:p>{code}</w:p></w:body>").encode()))
    document = read(path, tmp_path)
    assert "import json\ndata = json.loads(text)\nprint(data[ 'owls' ])" in document.text
    lines = [document.text[p.start:p.end] for p in document.paragraphs]
    assert lines[-3:] == ["import json", "data = json.loads(text)", "print(data[ 'owls' ])"]
