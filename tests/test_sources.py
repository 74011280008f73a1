"""Readers, one format at a time: what becomes text, what is left out, and where each part came from.

No model is needed: these check the Document each reader makes.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest

from qa.sources import Unreadable, find_paragraphs, is_junk, read
from qa.sources.document import Document
from tests.fixtures.make import HEADER, encrypted_pdf, report_docx, report_pdf, scanned_pdf

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _read(tmp_path: Path, name: str, data: bytes) -> Document:
    path = tmp_path / name
    path.write_bytes(data)
    return read(path, tmp_path)


def _paragraphs(document: Document) -> list[str]:
    return [document.text[p.start : p.end] for p in document.paragraphs]


# --- text ---------------------------------------------------------------------------------


def test_cr_only_line_endings_are_lines(tmp_path: Path):
    data = b"Owls hunt at night.\rThey nest in barns.\r\rThe end of the note is here.\r"
    document = _read(tmp_path, "mac.txt", data)
    assert _paragraphs(document) == ["Owls hunt at night.", "They nest in barns.", "The end of the note is here."]
    starts = [document.line_of(p.start) for p in document.paragraphs]
    assert starts == [1, 2, 4]
    assert document.text == data.decode()             # newlines untranslated: offsets are the file's


def test_crlf_counts_one_line_break(tmp_path: Path):
    document = _read(tmp_path, "dos.txt", b"First line here.\r\nSecond line here.\r\n")
    assert [document.line_of(p.start) for p in document.paragraphs] == [1, 2]


@pytest.mark.parametrize("bom, codec", [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_utf16_with_a_bom_is_read_as_text(tmp_path: Path, bom: bytes, codec: str):
    text = "Tawny owls call at night.\nLe café est ouvert.\n"
    document = _read(tmp_path, "wide.txt", bom + text.encode(codec))
    assert document.text == text
    assert _paragraphs(document) == ["Tawny owls call at night.", "Le café est ouvert."]


def test_binary_is_still_refused(tmp_path: Path):
    with pytest.raises(Unreadable, match="binary"):
        _read(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))


# --- junk rules that no longer eat content ------------------------------------------------


@pytest.mark.parametrize("line", [
    "Copyright law protects the expression of ideas, not the ideas themselves.",
    "## Download",
    "## Contact",
    "## Privacy policy",
    "2020",
    "3.14159",
    "cat access.log | grep owl | sort | uniq -c",
    "a | b | c | d",
    "{",
    "}",
    "    return x;",
])
def test_content_lines_are_not_junk(line: str):
    assert not is_junk(line)


@pytest.mark.parametrize("line", [
    "Copyright © 2024 Riverside Gazette Ltd. All rights reserved.",
    "Copyright 2001-2023 Python Software Foundation",
    "Home | News | Sport | Weather | Contact us",
    "Share",
    "Back to top",
    "----",
])
def test_chrome_lines_are_still_junk(line: str):
    assert is_junk(line)


# --- Markdown -----------------------------------------------------------------------------

MARKDOWN = """---
title: "Owl notes"
tags: [owls, birds]
---
# Barn owls

Barn owls hunt voles.

## Download

Get the survey data from the trust.

| Species | Nests |
|---------|-------|
| Barn owl | 23 |
| Tawny owl | 11 |

```python
def count(nests):
    return len(nests)
```
"""


def test_markdown_front_matter_is_metadata_and_its_title_the_title(tmp_path: Path):
    document = _read(tmp_path, "notes.md", MARKDOWN.encode())
    assert document.title == "Owl notes"
    assert not any("tags:" in p or "title:" in p for p in _paragraphs(document))


def test_markdown_table_is_one_paragraph_with_its_header_and_code_keeps_indentation(tmp_path: Path):
    document = _read(tmp_path, "notes.md", MARKDOWN.encode())
    paragraphs = _paragraphs(document)
    assert "| Species | Nests |\n|---------|-------|\n| Barn owl | 23 |\n| Tawny owl | 11 |" in paragraphs
    assert "def count(nests):\n    return len(nests)" in paragraphs
    assert "## Download" in paragraphs and "Get the survey data from the trust." in paragraphs


def test_markdown_headings_give_the_heading_path(tmp_path: Path):
    document = _read(tmp_path, "notes.md", MARKDOWN.encode())
    offset = document.text.index("Get the survey")
    assert document.region_at(offset).heading == "Barn owls > Download"
    blocks = {p.block for p in document.paragraphs if document.text[p.start:p.end].startswith(("Barn owls hunt", "Get"))}
    assert len(blocks) == 2        # a heading starts a new block: passages do not run across it


def test_markdown_offsets_are_the_files(tmp_path: Path):
    document = _read(tmp_path, "notes.md", MARKDOWN.encode())
    assert document.text == MARKDOWN


# --- HTML ---------------------------------------------------------------------------------


def test_html_keeps_the_article_and_drops_navigation_ads_and_comments(tmp_path: Path):
    document = read(FIXTURES / "article.html", FIXTURES)
    text = document.text
    assert document.title == "Barn owls return to the valley"
    for kept in ("seven breeding pairs", "a single barn owl family eats more than a thousand",
                 "Without the margins there would be nothing for the owls to eat", "copies of the files are free"):
        assert kept in text
    for dropped in ("Cheap flights", "Hot singles", "Most read", "Council approves", "Share on Facebook",
                    "Otters spotted", "owlfan77", "potholes", "Leave a Reply", "will not be published",
                    "Privacy policy", "All rights reserved", "Subscribe", "Search the Gazette"):
        assert dropped not in text, dropped


def test_html_blocks_know_their_heading_and_source_line(tmp_path: Path):
    document = read(FIXTURES / "article.html", FIXTURES)
    source = (FIXTURES / "article.html").read_text(encoding="utf-8").split("\n")
    for paragraph in document.paragraphs:
        region = document.region_at(paragraph.start)
        first_words = " ".join(document.text[paragraph.start : paragraph.end].split()[:3])
        assert first_words in re.sub(r"<[^>]+>", "", source[region.source_line - 1]), (region, first_words)
    offset = document.text.index("copies of the files")
    assert document.region_at(offset).heading == "Barn owls return to the valley > Copying files of the survey"


def test_html_permalink_marks_are_not_text(tmp_path: Path):
    page = ("<html><head><title>zlib</title></head><body><main><h1>zlib<a class='headerlink' href='#z'>¶</a></h1>"
            "<p>" + "This module compresses data with the DEFLATE algorithm used by gzip. " * 4 + "</p>"
            "<dl><dt>zlib.crc32(data[, value])<a class='headerlink' href='#c'>¶</a></dt>"
            "<dd><p>" + "Computes a CRC checksum of data; the result is an unsigned 32-bit integer. " * 3
            + "</p></dd></dl><p>Paragraph marks ¶ inside a sentence stay.</p></main></body></html>")
    document = _read(tmp_path, "zlib.html", page.encode())
    assert "zlib.crc32(data[, value])" in document.text
    assert "value])¶" not in document.text and "Paragraph marks ¶ inside" in document.text


def test_html_keeps_runs_of_short_api_entries():
    """Sphinx's permalink marks after every entry made trafilatura take runs of short entries for lists of
    links and drop them: the Python docs' operator page (an excerpt in the fixture) lost abs(), add(), ..."""
    text = read(FIXTURES / "sphinx-operator.html", FIXTURES).text
    for entry in ("Return the absolute value of obj.", "Return a + b, for a and b numbers.",
                  "Return the bitwise exclusive or of a and b.", "Return a converted to an integer."):
        assert entry in text, entry
    assert "¶" not in text


def test_html_footnotes_are_text_and_sidebars_are_not(tmp_path: Path):
    page = ("<html><head><title>Numbers</title></head><body><main><h1>Numbers</h1>"
            "<p>" + "The ** operator calculates powers, and it binds tighter than a unary minus. " * 3 + "<a "
            "class='footnote-reference brackets' href='#id3' role='doc-noteref'>[1]</a></p>"
            "<p>" + "Division always returns a floating point number, even for two integers. " * 3 + "</p>"
            "<p class='rubric'>Footnotes</p><aside class='footnote-list brackets'>"
            "<aside class='footnote brackets' id='id3' role='note'><span class='label'>[1]</span>"
            "<p>Since ** has higher precedence than -, -3**2 will be interpreted as -(3**2) and thus result "
            "in -9. To avoid this and get 9, you can use (-3)**2.</p></aside></aside>"
            "<aside role='doc-endnotes'><p>Endnote: integers have unlimited precision in Python.</p></aside>"
            "</main><aside class='sidebar'><p>Buy the printed edition of this tutorial today, only 9 dollars, "
            "free shipping worldwide for a limited time.</p></aside></body></html>")
    text = _read(tmp_path, "numbers.html", page.encode()).text
    assert "-3**2 will be interpreted as -(3**2) and thus result in -9" in text
    assert "integers have unlimited precision" in text
    assert "printed edition" not in text


def test_html_api_entries_keep_their_examples_lines_and_their_tables_rows(tmp_path: Path):
    """Sphinx writes an API entry as <dl><dt>signature</dt><dd>...</dd></dl>, a class's methods as entries
    inside its own; trafilatura flattened what a <dd> holds (the tarfile modes table came out one cell per
    line, the enum page's examples on one line each), and what a <blockquote> holds (Sphinx indents tables
    with one: tkinter.ttk's option tables)."""
    words = "This sentence is ordinary documentation prose that explains the function in some detail. " * 3
    page = ("<html><head><title>tarfile</title></head><body><main><h1>tarfile</h1><p>" + words + "</p>"
            "<dl class='py function'><dt id='tarfile.open'>tarfile.open(name=None, mode='r')</dt><dd>"
            "<p>Return a TarFile object for the pathname name. " + words + "</p>"
            "<table class='docutils'><thead><tr><th><p>mode</p></th><th><p>action</p></th></tr></thead><tbody>"
            "<tr><td><p>'r:gz'</p></td><td><p>Open for reading with gzip compression.</p></td></tr>"
            "<tr><td><p>'w:xz'</p></td><td><p>Open for lzma compressed writing.</p></td></tr></tbody></table>"
            "</dd></dl><dl class='py class'><dt id='tarfile.TarFile'>class tarfile.TarFile</dt><dd><p>" + words +
            "</p><dl class='py method'><dt id='tarfile.TarFile.extractall'>extractall(path='.')</dt><dd><p>Extract "
            "all members from the archive.</p><div class='highlight-python3 notranslate'><div class='highlight'><pre>&gt;&gt;&gt; class Mode(Enum):\n"
            "...     READ = auto()\n</pre></div></div></dd></dl></dd></dl><p>Archives accept these options:</p>"
            "<blockquote><div><table class='docutils'><thead><tr><th><p>Option</p></th><th><p>Description</p></th>"
            "</tr></thead><tbody><tr><td><p>format</p></td><td><p>Specifies the archive format to write.</p></td></tr>"
            "<tr><td><p>dereference</p></td><td><p>Follows symbolic links.</p></td></tr></tbody></table></div>"
            "</blockquote><dl><div><dt>compresslevel</dt><dd><p>How hard gzip tries, from 1 to 9.</p><div class="
            "'highlight'><pre>tarfile.open('a.tgz', 'w:gz', compresslevel=9)\n</pre></div></dd></div></dl>"
            "</main></body></html>")
    text = _read(tmp_path, "tarfile.html", page.encode()).text
    assert "tarfile.open(name=None, mode='r')" in text and "extractall(path='.')" in text
    assert "'r:gz' | Open for reading with gzip compression." in text
    assert ">>> class Mode(Enum):\n...     READ = auto()" in text
    assert "format | Specifies the archive format to write." in text     # a table Sphinx indents
    assert "compresslevel\n\nHow hard gzip tries, from 1 to 9." in text   # HTML5 groups terms in <div>s


def test_html_code_keeps_its_lines_in_a_bare_pre_and_in_a_list_item(tmp_path: Path):
    """trafilatura reads a <pre> without <code> as a quote and runs its lines together: a shell session
    written straight in <pre>, and the Python docs' examples inside list items (argparse's actions)."""
    words = "<p>" + "The parser reads the command line and turns it into an object of attributes. " * 3 + "</p>"
    page = ("<html><head><title>argparse</title></head><body><main><h1>argparse</h1>" + words +
            "\n\n<pre>$ python prog.py <b>--foo</b> 1\nNamespace(foo='1')\n</pre>" + words +
            "<ul><li><p>'store_const' - This stores the value specified by the const keyword argument:</p>"
            "<div class='highlight-python3 notranslate'><div class='highlight'><pre><span class='gp'>&gt;&gt;&gt; "
            "</span><span class='n'>parser</span> = argparse.ArgumentParser()\n<span class='gp'>&gt;&gt;&gt; </span>"
            "parser.parse_args(['--foo'])\nNamespace(foo=42)\n</pre></div></div></li>"
            "<li><p>'append' - This stores a list, and appends each argument value to the list.</p></li></ul>"
            + words + "</main></body></html>")
    document = _read(tmp_path, "argparse.html", page.encode())
    text = document.text
    assert "$ python prog.py --foo 1\nNamespace(foo='1')" in text
    assert document.region_at(text.index("$ python")).source_line == 3    # where the <pre> is
    assert ">>> parser = argparse.ArgumentParser()\n>>> parser.parse_args(['--foo'])\nNamespace(foo=42)" in text


def test_html_sentences_citing_names_as_links_are_kept(tmp_path: Path):
    """API docs cite names as links holding code; trafilatura took an entry whose sentence cited three of
    them for a list of links and dropped it (the Python docs' datetime.MINYEAR and MAXYEAR)."""
    def cite(name: str) -> str:
        return f"<a class='reference internal' href='#datetime.{name}'><code class='xref'><span class='pre'>{name}</span></code></a>"

    def entry(name: str, text: str) -> str:
        return f"<dl class='py data'><dt id='datetime.{name}'>datetime.{name}</dt><dd><p>{text}</p></dd></dl>"

    words = "<p>" + "Supporting timezones at deeper levels of detail is up to the application. " * 3 + "</p>"
    page = ("<html><head><title>datetime</title></head><body><main><h1>datetime</h1>" + words +
            "<section id='constants'><h2>Constants</h2><p>The module exports the following constants:</p>"
            + entry("MINYEAR", f"The smallest year number allowed in a {cite('date')} or {cite('datetime')} object. "
                               f"{cite('MINYEAR')} is <code>1</code>.")
            + entry("MAXYEAR", f"The largest year number allowed in a {cite('date')} or {cite('datetime')} object. "
                               f"{cite('MAXYEAR')} is <code>9999</code>.")
            + "</section>" + words + "</main></body></html>")
    text = _read(tmp_path, "datetime.html", page.encode()).text
    assert "The smallest year number allowed in a date or datetime object. MINYEAR is 1." in text
    assert "The largest year number allowed in a date or datetime object. MAXYEAR is 9999." in text


def test_html_keeps_a_table_whose_cells_cite_names():
    """The Python docs' table of os functions and their pathlib equivalents (an excerpt in the fixture):
    its cells are links to names, and trafilatura dropped it as a list of links unless the cells that
    say more than one name ("os.remove(), os.unlink()") are read as text."""
    text = read(FIXTURES / "sphinx-pathlib-table.html", FIXTURES).text
    assert "os.path.isdir() | Path.is_dir()" in text
    assert "os.remove(), os.unlink() | Path.unlink()" in text


def test_html_text_after_code_in_an_entry_is_kept(tmp_path: Path):
    """Sphinx's line blocks in an API entry (xml.sax.handler's features): trafilatura gives the entry's
    text, its code, and the text after the code; that last part was lost."""
    words = "<p>" + "The handler receives events from the parser as the document is read. " * 3 + "</p>"
    entries = "".join(
        f"<dl class='py data'><dt>xml.sax.handler.feature_{name}</dt><dd><div class='line-block'>\n"
        f"<div class='line'>value: <code>\"http://xml.org/sax/features/{name}\"</code></div>\n"
        f"<div class='line'>true: Perform {name} processing.</div>\n"
        f"<div class='line'>false: Optionally do not perform {name} processing (default).</div>\n</div></dd></dl>"
        for name in ("namespaces", "validation", "interning", "entities"))
    page = ("<html><head><title>xml.sax.handler</title></head><body><main><h1>xml.sax.handler</h1>" + words +
            entries + words + "</main></body></html>")
    text = _read(tmp_path, "handler.html", page.encode()).text
    assert '"http://xml.org/sax/features/namespaces"' in text
    assert "true: Perform validation processing. false: Optionally do not perform validation processing" in text


def test_html_notes_inside_api_entries_are_kept(tmp_path: Path):
    """trafilatura dropped a note inside an API entry when its paragraph held three links (the Python docs'
    json.dump: "JSON is not a framed protocol"); the same paragraph straight in the entry was kept."""
    words = "<p>" + "Ordinary prose about serializing objects to files in a portable way. " * 4 + "</p>"
    note = ("<div class='admonition note'><p class='admonition-title'>Note</p><p>Unlike <a href='pickle.html'>"
            "<code>pickle</code></a> and <a href='marshal.html'><code>marshal</code></a>, JSON is not a framed "
            "protocol, so repeated calls to <a href='#json.dump'><code>dump()</code></a> using the same fp give "
            "an invalid JSON file.</p></div>")
    page = ("<html><head><title>json</title></head><body><main><h1>json</h1>" + words + "<dl class='py function'>"
            "<dt id='json.dump'>json.dump(obj, fp)</dt><dd>" + words + note + "</dd></dl>" + words +
            "</main></body></html>")
    text = _read(tmp_path, "json.html", page.encode()).text
    assert "JSON is not a framed protocol" in text


def test_html_sections_named_like_boilerplate_are_kept_and_boilerplate_is_not(tmp_path: Path):
    """A Sphinx section's id comes from its heading; trafilatura read "unrelated", "sharing", "menus" or
    "cookie" in such ids as layout and dropped whole sections and API entries of the Python docs (the
    tutorial's exception groups, the IDLE page's menus). Ids their own heading links to (a permalink) no
    longer count; a "related posts" box, even one whose heading spells its id, still goes."""
    words = "This sentence is ordinary documentation prose that explains the section in some detail. " * 3
    page = ("<html><head><title>Guide</title></head><body><main><h1>Guide</h1><p>" + words + "</p>"
            "<section id='raising-and-handling-multiple-unrelated-exceptions'><h2>8.9. Raising and Handling "
            "Multiple Unrelated Exceptions<a class='headerlink' href='#raising-and-handling-multiple-unrelated-"
            "exceptions'>¶</a></h2><p>The builtin ExceptionGroup wraps a list of exception instances. " + words + "</p>"
            "</section><section id='tut-sharing'><h2>Sharing state between processes<a class='headerlink' "
            "href='#tut-sharing'>¶</a></h2><p>Shared memory holds a Value or an Array between processes. " + words +
            "</p></section><dl class='py class'><dt id='http.cookiejar.CookieJar'>class http.cookiejar.CookieJar("
            "policy=None)<a class='headerlink' href='#http.cookiejar.CookieJar'>¶</a></dt><dd><p>The CookieJar "
            "class stores HTTP cookies. " + words + "</p></dd></dl>"
            "<div id='related-posts'><h3>Related posts</h3><p>Ten tricks for faster loops that experts swear by, "
            "read it now and share it with your friends today.</p></div></main>"
            "<div id='related'><h3>You may also like</h3><p>Seven habits of highly effective programmers, the "
            "list everybody shares.</p></div></body></html>")
    text = _read(tmp_path, "guide.html", page.encode()).text
    assert "The builtin ExceptionGroup wraps a list of exception instances." in text
    assert "Shared memory holds a Value or an Array between processes." in text
    assert "class http.cookiejar.CookieJar(policy=None)" in text
    assert "Ten tricks for faster loops" not in text and "Seven habits" not in text


def test_html_in_a_declared_non_utf8_charset_is_decoded_right():
    document = read(FIXTURES / "cp1252.html", FIXTURES)
    assert (FIXTURES / "cp1252.html").read_bytes().find("é".encode("utf-8")) == -1   # the file is really cp1252
    assert document.title == "Le café des hiboux"
    assert "sert un résumé de la journée avec chaque crème brûlée" in document.text
    assert "“nos clients aiment lire" in document.text and "l’équipe" in document.text


# --- PDF ----------------------------------------------------------------------------------


def test_pdf_pages_carry_their_labels_roman_then_arabic(tmp_path: Path):
    document = _read(tmp_path, "report.pdf", report_pdf())
    labels = [(r.page, r.page_label) for r in document.regions]
    assert labels == [(1, "i"), (2, "ii"), (3, "1"), (4, "2"), (5, "3")]
    offset = document.text.index("Tawny owls stay in the beech woods")
    assert (document.region_at(offset).page, document.region_at(offset).page_label) == (4, "2")
    blocks = {document.region_at(p.start).page: p.block for p in document.paragraphs}
    assert len(set(blocks.values())) == 5           # a page is a block: a passage never runs across pages


def test_pdf_without_labels_cites_page_numbers(tmp_path: Path):
    document = _read(tmp_path, "report.pdf", report_pdf(labels=False))
    assert [(r.page, r.page_label) for r in document.regions] == [(p, None) for p in range(1, 6)]


def test_pdf_running_headers_footers_dropped_and_hyphens_joined(tmp_path: Path):
    document = _read(tmp_path, "report.pdf", report_pdf())
    content = " ".join(_paragraphs(document))
    assert HEADER not in content and not re.search(r"Page \d of 5", content)
    assert "recorded every hatchling" in content and "hatch-" not in document.text
    assert "Barn owls hunt voles at night" in content


def test_pdf_broken_page_is_skipped_with_a_note_and_the_rest_read(tmp_path: Path):
    document = _read(tmp_path, "report.pdf", report_pdf(broken_page=1))
    assert [r.page_label for r in document.regions] == ["i", "1", "2", "3"]
    assert len(document.notes) == 1 and document.notes[0].startswith("page ii could not be read")
    assert "Tawny owls stay in the beech woods" in document.text


def test_encrypted_pdf_is_skipped_with_a_clear_message(tmp_path: Path):
    with pytest.raises(Unreadable, match="encrypted PDF that needs a password"):
        _read(tmp_path, "locked.pdf", encrypted_pdf())


def test_scanned_pdf_without_text_is_skipped_with_a_clear_note(tmp_path: Path):
    with pytest.raises(Unreadable, match="no text layer"):
        _read(tmp_path, "scan.pdf", scanned_pdf())


def test_not_really_a_pdf(tmp_path: Path):
    with pytest.raises(Unreadable, match="not a PDF"):
        _read(tmp_path, "fake.pdf", b"this is just text pretending")


# --- DOCX ---------------------------------------------------------------------------------


def test_docx_paragraphs_and_tables_in_order_with_heading_paths_and_numbers(tmp_path: Path):
    document = _read(tmp_path, "survey.docx", report_docx())
    paragraphs = _paragraphs(document)
    assert document.title == "Owl Survey"
    table = "Species | Nests\nBarn owl | 23\nTawny owl | 11"
    assert paragraphs.index("The counts per species were as follows.") < paragraphs.index(table) \
        < paragraphs.index("Barn owls nested mostly in old barns near the river.")
    located = {text: (document.region_at(p.start).heading, document.region_at(p.start).paragraph)
               for text, p in zip(paragraphs, document.paragraphs)}
    assert located["Each walk lasted two hours."] == ("Methods > Night walks", 1)
    assert located["Calls were logged with the time and the place."] == ("Methods > Night walks", 2)
    assert located[table] == ("Results", 2)
    assert located["This survey was run by the Owl Society in 2023."] == (None, 2)


def test_not_really_a_docx(tmp_path: Path):
    with pytest.raises(Unreadable, match="not a Word document"):
        _read(tmp_path, "fake.docx", b"PK\x03\x04 not a zip at all")


def test_find_paragraphs_still_marks_junk_blocks():
    paragraphs, junk = find_paragraphs("Real sentence one.\nShare\nReal sentence two.\n")
    assert junk == 1 and paragraphs[0].block != paragraphs[1].block
