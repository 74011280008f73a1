"""An HTML page's tree made ready for trafilatura (qa/sources/html.py reads it afterwards): ad boxes out, and
footnotes, in-page anchors, permalinks, names of code in sentences, API entries and `<pre>` blocks put in
forms trafilatura keeps whole. Each step says what trafilatura did without it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # lxml ships no type information: these name the objects, mypy reads them as Any
    from lxml.etree import _Element as XmlElement
    from lxml.html import HtmlElement

_SPACE = re.compile(r"\s+")


def prepare(tree: HtmlElement) -> None:
    """Every step below, in this order, on `tree` (changed in place)."""
    _drop_ads(tree)
    _keep_footnotes(tree)
    _unmark_anchor_ids(tree)
    _drop_permalinks(tree)
    _unlink_names_in_sentences(tree)
    _entries_as_blocks(tree)
    _pre_as_code(tree)


#: A class or id naming an ad box: "ads", "advert", "advertisement", "sponsored", "adsbygoogle", "ad-slot"...
#: (whole tokens only: "admonition", "header", "download" are not ads).
_AD = re.compile(r"(?:ads?|adverts?|advertisements?|advertising|adbox|adsbygoogle|adslot|sponsor|sponsored|promo)"
                 r"(?:[-_](?:box|block|banner|slot|unit|container|wrapper|wrap|area|zone|inline|top|bottom|side|\d+))*",
                 re.IGNORECASE)


def _drop_ads(tree: HtmlElement) -> None:
    """Elements whose class or id names an ad box go, with what they hold ("Buy cheap watches now!" inside
    an article's `<div class="ads">`, which trafilatura keeps as part of the article). An element holding
    the page's `<h1>`, `<main>` or `<article>` stays, whatever it is called."""
    for element in tree.xpath("//*[@class or @id]"):
        tokens = (element.get("class") or "").split() + [element.get("id") or ""]
        if (any(_AD.fullmatch(token) for token in tokens) and element.tag not in ("html", "body")
                and not element.xpath(".//h1|.//main|.//article")):
            element.drop_tree()


#: ARIA roles of footnotes and endnotes (DPUB-ARIA): part of the document, whatever element holds them.
_NOTE_ROLES = {"doc-footnote", "doc-endnote", "doc-endnotes", "doc-footnotes"}


def _keep_footnotes(tree: HtmlElement) -> None:
    """Footnotes in `<aside>` elements (Sphinx, DPUB-ARIA) become `<div>`s: trafilatura drops every
    `<aside>` as a sidebar, and with them text such as the Python tutorial's "-3**2 will be interpreted
    as -(3**2)". Other asides (sidebars, ads) stay asides."""
    for element in tree.iter("aside"):
        classes = (element.get("class") or "").split()
        if element.get("role") in _NOTE_ROLES or any(c.startswith("footnote") for c in classes):
            element.tag = "div"


HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _unmark_anchor_ids(tree: HtmlElement) -> None:
    """Ids that only name a place in the text lose them before extraction: a section or API entry whose
    own heading (its first heading child, or the `<dt>` itself) links to it, as Sphinx's permalinks do
    (`<section id="raising-and-handling-multiple-unrelated-exceptions"><h2>... <a href="#raising-...">`).
    trafilatura reads ids as layout, and such an id holding "related", "share", "menu", "cookie"... made
    it drop the whole section or entry as boilerplate. Other ids, a "related-posts" box's, stay."""
    for element in tree.xpath("//*[@id]"):
        ident = element.get("id")
        own = element if element.tag in HEADINGS or element.tag == "dt" else next(
            (child for child in element if child.tag in HEADINGS), None)
        if own is not None and any(a.get("href") == f"#{ident}" for a in own.iter("a")):
            del element.attrib["id"]


def _drop_permalinks(tree: HtmlElement) -> None:
    """Permalink marks (`<a class="headerlink" href="#x">¶</a>` after Sphinx headings and API entries,
    and any in-page link whose whole text is ¶, § or #) are removed before extraction: they are no text,
    and trafilatura counted them as links, which made it drop runs of short API entries as link lists
    (the Python docs' operator page lost abs(), add(), mul(), ... this way)."""
    for anchor in list(tree.iter("a")):
        classes = (anchor.get("class") or "").split()
        inline = (anchor.get("href") or "").startswith("#")
        if "headerlink" in classes or (inline and (anchor.text_content() or "").strip() in {"¶", "§", "#"}):
            anchor.drop_tree()   # lxml.html: removes the element and keeps its tail text


def _unlink_names_in_sentences(tree: HtmlElement) -> None:
    """A link whose whole text is code (`<a href="#datetime.MAXYEAR"><code>MAXYEAR</code></a>`: API docs cite
    names this way) inside a paragraph holding anything besides its links is read as plain text. trafilatura
    takes an element holding several short links for a list of links: the Python docs lost "The largest year
    number allowed in a date or datetime object. MAXYEAR is 9999." with its entry this way, and would drop
    pathlib's table of os and pathlib names if its cells' "os.remove(), os.unlink()" kept their links too.
    Menus and tables of contents (links in list items; paragraphs holding a link and nothing else) keep
    their links and are judged as before."""
    for paragraph in tree.iter("p"):
        names = [a for a in paragraph.iter("a") if _names_code(a)]
        if names and len(flat(paragraph)) > sum(len(flat(a)) for a in names):
            for anchor in names:
                anchor.drop_tag()   # lxml.html: the link goes, its text stays


def _names_code(anchor: HtmlElement) -> bool:
    """The link's text is all inside `<code>` elements."""
    children = list(anchor)
    return bool(children) and not (anchor.text or "").strip() and all(
        child.tag == "code" and not (child.tail or "").strip() for child in children)


def _entries_as_blocks(tree: HtmlElement) -> None:
    """A definition list holding code blocks or tables (Sphinx's API entries: `<dl><dt>signature<dd>text,
    example, table`) is read as blocks, not as a list: trafilatura flattens whatever a list item holds, so
    an entry's example lost its line breaks and its table its rows (the cells came out one per line). A
    `<blockquote>` holding a table (Sphinx indents tables with one) is read as blocks for the same reason.
    In the other definitions, boxes (`<div>`: notes, version notes) are unwrapped: trafilatura dropped a
    note inside an entry when its paragraph held three links (json.dump's "not a framed protocol")."""
    for entries in list(tree.iter("dl")):
        if next(entries.iter("pre", "table"), None) is None:
            continue
        entries.tag = "div"
        for part in _own_terms(entries):
            part.tag = "p" if part.tag == "dt" else "div"
    for quote in list(tree.iter("blockquote")):
        if next(quote.iter("table"), None) is not None:
            quote.tag = "div"
    for definition in list(tree.iter("dd")):
        for box in list(definition.iter("div")):
            box.drop_tag()   # lxml.html: the box goes, what it holds stays in its place


def _pre_as_code(tree: HtmlElement) -> None:
    """A `<pre>` holding no `<code>` gets one around its content: trafilatura reads such a block as a quote
    and runs its lines together, or drops it (a shell session or an example written straight in `<pre>`,
    the Python docs' examples inside list items)."""
    for block in list(tree.iter("pre")):
        if next(block.iter("code"), None) is not None:
            continue
        code = block.makeelement("code", {})
        code.sourceline = block.sourceline     # the block's source line, for its citation
        code.text, block.text = block.text, None
        code.extend(list(block))   # moves the children
        block.append(code)


def _own_terms(entries: HtmlElement) -> list[HtmlElement]:
    """The `<dt>` and `<dd>` elements of a definition list, also inside HTML5's `<div>` groups of them."""
    found: list[HtmlElement] = []
    for child in entries:
        if child.tag in ("dt", "dd"):
            found.append(child)
        elif child.tag == "div":
            found += _own_terms(child)
    return found


def flat(element: XmlElement | HtmlElement) -> str:
    """The element's text, spaces made single."""
    text: str = _SPACE.sub(" ", "".join(element.itertext())).strip()
    return text
