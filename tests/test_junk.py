"""Web junk in the seeds never becomes a passage; the real sentences around it do."""

from __future__ import annotations

import pytest

from qa.sources import read
from qa.model.embedder import model_folder
from qa.ingest.split import WordPieceCounter, split_document
from tests.conftest import SEEDS

COUNTER = WordPieceCounter(model_folder("all-MiniLM-L6-v2") / "tokenizer.json")


@pytest.fixture(scope="module")
def passages():
    return [p for path in sorted(SEEDS.glob("*.txt")) for p in split_document(read(path, SEEDS), COUNTER, 200, 1)]


JUNK = [
    "主站蜘蛛池模板",                      # link-farm spam at the end of 003
    "婷婷亚洲综合",
    "京ICP",                               # licence badges
    "All rights reserved",                 # copyright footer
    "Reproduction in whole or in part",
    "Back to top",                         # navigation
    "Privacy Policy",
    "MorePhoto",
    "Most popular in 24h",
    "AAAPrint",                            # font-size and print buttons
    "1. LINE",                             # share button
    "App Download",
    "See also",                            # related-link lines in 001
    "Biometric Technology to Reach",
    "Night Sale",
    "Leave a Reply",                       # comment form
    "Your email address will not be published",
    "Suggest to a Friend",                 # share link in 002
]

REAL = [
    ("003_b39649ee84f25aeb.txt", "Colombian beef has also been approved for export to China last year."),
    ("003_b39649ee84f25aeb.txt", "bilateral trade volume expanded 13.4 percent year-on-year to $22.64 billion"),
    ("003_b39649ee84f25aeb.txt", "China, Colombia to strengthen cooperation in industry and information technology fields"),
    ("003_b39649ee84f25aeb.txt", "has met with Colombian Minister of Foreign Affairs Luis Gilberto Murillo"),
    ("001_d604fa8a18ea78d9.txt", "Source: La Estrella de Panama."),
    ("001_d604fa8a18ea78d9.txt", "digital infrastructure will evolve even faster,” Yu said."),
    ("001_d604fa8a18ea78d9.txt", "In this framework, President Xi Jinping said in a letter"),
    ("002_a9873de1c8ec672a.txt", "Trinidad and Tobago, Venezuela."),
    ("004_bc3bbd6dfccf26ec.txt", "The author is director of the Department of International Relations"),
]


@pytest.mark.parametrize("junk", JUNK)
def test_no_passage_contains_junk(passages, junk):
    assert not [p.citation for p in passages if junk.lower() in p.text.lower()]


@pytest.mark.parametrize("file, sentence", REAL)
def test_real_sentences_next_to_junk_are_kept(passages, file, sentence):
    assert any(p.file == file and sentence in p.text for p in passages)


def test_passages_never_straddle_removed_junk(passages):
    for p in passages:
        source = (SEEDS / p.file).read_text(encoding="utf-8")
        lines = source.split("\n")[p.line_start - 1 : p.line_end]
        assert not any(j.lower() in "\n".join(lines).lower() for j in JUNK), p.citation
