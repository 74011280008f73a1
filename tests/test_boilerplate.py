"""Only the article becomes passages: the chrome of common page layouts (tests/fixtures/boilerplate/: a news
article with a nav bar, ad boxes, share buttons, a "most read" box and a footer; a blog post with a comment
section, a reply form and a sidebar; a docs page with a sidebar table of contents, breadcrumbs, a previous/next
bar and a footer) never reaches a stored passage, and every sentence of the article does."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from qa import Index

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "boilerplate"

#: Per page: text of its chrome (none may be in any passage) and its own sentences (each must be in one).
PAGES = {
    "news.html": (
        ["Buy cheap watches", "Genuine Swiss movements", "Share on Facebook", "Tweet this story", "Email a friend",
         "Most read", "Council approves new bridge", "Flower show breaks", "Copyright 2024 Valley News",
         "Privacy policy", "Contact the newsroom", "Search Valley News", "Politics", "Weather"],
        ["Barn owls have returned to the river valley after an absence of twenty years",
         "The survey counted twenty-three nests in old farm buildings",
         "Landowners gave permission for every visit",
         "The owls hunt field voles along the rough grass margins"]),
    "blog.html": (
        ["Great tips, my loaves in Denver", "casino bonus", "thoughts on", "Leave a Reply",
         "Your email address will not be published", "About me", "I bake bread and climb mountains", "Archives",
         "February 2024", "Subscribe to get every new recipe", "Proudly powered", "Say hello", "Posted in Baking"],
        ["Baking sourdough in a mountain cabin taught me that water boils at a lower temperature",
         "At two thousand metres I cut the starter to fifteen percent",
         "Hydration",
         "I raise the hydration to seventy-eight percent",
         "The loaf bakes at two hundred and thirty degrees"]),
    "docs.html": (
        ["Installation guide", "Quickstart tutorial", "Timeouts and deadlines", "Changelog", "Docs home",
         "User guide", "Previous:", "Next:", "Copyright 2019-2024", "Edit this page", "Download", "Community"],
        ["Kettle retries a failed request three times by default",
         "Changing the limit",
         "in the client settings to change how many attempts are made",
         "client = kettle.Client(max_retries=5, backoff=0.5)",
         "Which errors are retried",
         "Only connection errors and responses with status 502, 503 or 504 are retried"]),
}


@pytest.fixture(scope="module")
def passages(tmp_path_factory: pytest.TempPathFactory, fake_model: Path) -> dict[str, str]:
    """Every stored passage's text, joined per file (spaces made single)."""
    docs = tmp_path_factory.mktemp("boilerplate") / "docs"
    shutil.copytree(FIXTURES, docs)
    index_dir = docs.parent / "ix"
    report = Index.build([docs], index_dir, model=str(fake_model))
    assert report.passages > 0
    joined: dict[str, str] = {}
    for passage in Index.open(index_dir).stored.all_passages():
        joined[passage.file] = joined.get(passage.file, "") + "\n" + re.sub(r"\s+", " ", passage.text)
    return joined


@pytest.mark.parametrize("page", sorted(PAGES))
def test_no_chrome_reaches_a_passage(passages: dict[str, str], page: str):
    chrome, _ = PAGES[page]
    everything = "\n".join(passages.values()).lower()
    assert not [text for text in chrome if text.lower() in everything]


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_sentence_of_the_article_reaches_a_passage(passages: dict[str, str], page: str):
    _, article = PAGES[page]
    assert not [text for text in article if text not in passages.get(page, "")]


def test_a_heading_is_cited_at_its_own_line_not_where_a_menu_repeats_its_words():
    """The docs page's sidebar and breadcrumbs say "Configuring retries" before its <h1> does."""
    from qa.sources.html import read

    data = (FIXTURES / "docs.html").read_bytes()
    source = data.decode("utf-8").splitlines()
    extracted = read(data)
    heading = next(r for r in extracted.regions if extracted.text.startswith("Configuring retries", r.start))
    assert heading.source_line is not None and "<h1>" in source[heading.source_line - 1]
