"""Merging overlapping passages, folding copies and capping hits per file (qa/search/collapse.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import Index
from tests.conftest import SEEDS

SHARED = ("The Andean condor glides over the cordillera for hours without flapping its wings, "
          "riding thermal currents that rise from the sunlit slopes.")
#: Unrelated text of several passages, different in each place it is used (so no filler is a copy of another).
FILLER = [(SEEDS / name).read_text(encoding="utf-8") for name in
          ("000_ad54f42682f048e2.txt", "001_d604fa8a18ea78d9.txt", "002_a9873de1c8ec672a.txt",
           "003_b39649ee84f25aeb.txt")]
OWLS = [
    "Barn owls hunt mice at night, gliding low over the meadow and listening for the faintest rustle.",
    "In winter the barn owls hunt voles and mice along hedgerows, where the snow is thinner and prey easier to hear.",
    "A pair of barn owls can hunt more than a thousand mice in a single breeding season, farmers report.",
]


def paragraphs(*blocks: str) -> str:
    return "\n\n".join(blocks) + "\n"


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory, fake_model: Path) -> Path:
    root = tmp_path_factory.mktemp("collapse")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(paragraphs("Birds of the Andes", SHARED, "The llama grazes below."), encoding="utf-8")
    (corpus / "b.txt").write_text(paragraphs("Mountain wildlife notes", SHARED, "Vicuñas live higher up."),
                                  encoding="utf-8")
    # One line of text holding the shared paragraph three times, far apart: three copies with one citation.
    far_apart = " ".join([SHARED, FILLER[0], SHARED, FILLER[1], SHARED]).replace("\n", " ")
    (corpus / "oneline.txt").write_text(far_apart + "\n", encoding="utf-8")
    # Passages that overlap one another: all about the condor.
    facts = [f"Condor fact {i}: the condor soars on warm air above the mountains for a long time." for i in range(40)]
    (corpus / "long.txt").write_text(" ".join(facts) + "\n", encoding="utf-8")
    # Three different owl paragraphs in one file, each far from the others.
    (corpus / "owls.txt").write_text(paragraphs(OWLS[0], FILLER[3], OWLS[1], FILLER[2], OWLS[2]), encoding="utf-8")
    (corpus / "farm.txt").write_text(paragraphs("Farm notes", "Cats on the farm hunt mice in the barn at night."),
                                     encoding="utf-8")
    (corpus / "woods.txt").write_text(paragraphs("Woodland notes", "Tawny owls hunt mice and voles in the woods."),
                                      encoding="utf-8")
    Index.build([corpus], root / "ix", model=str(fake_model))
    return root / "ix"


def overlapping(hits) -> bool:
    return any(a.passage.file == b.passage.file and a.passage.start < b.passage.end and b.passage.start < a.passage.end
               for i, a in enumerate(hits) for b in hits[i + 1 :])


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_overlapping_passages_of_a_file_become_one_hit(corpus_index: Path, mode):
    index = Index.open(corpus_index)
    stored = [p for p in index.stored.all_passages() if p.file == "long.txt"]
    assert len(stored) >= 3 and stored[0].end > stored[1].start, "the file's passages overlap"
    hits = index.search("Condor fact: the condor soars on warm air above the mountains", k=6, mode=mode)
    assert not overlapping(hits)
    long = [h for h in hits if h.passage.file == "long.txt"]
    assert len(long) == 1 and long[0].passage.end - long[0].passage.start > stored[0].end - stored[0].start
    source = (corpus_index.parent / "corpus" / "long.txt").read_text(encoding="utf-8")
    assert source[long[0].passage.start : long[0].passage.end] == long[0].passage.text


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_a_copied_paragraph_is_shown_once_and_every_other_place_cited_once(corpus_index: Path, mode):
    index = Index.open(corpus_index)
    hits = index.search("How does the condor glide over the cordillera on thermal currents?", k=6, mode=mode)
    shared = [h for h in hits if "riding thermal currents" in h.passage.text]
    assert len(shared) == 1, [h.citation for h in hits]
    shown = shared[0]
    cited = {citation.rsplit(":", 1)[0].rsplit("/", 1)[-1]: citation.rsplit(":", 1)[1] for citation in shown.also_in}
    assert len(cited) == len(shown.also_in), f"one citation per place: {shown.also_in}"
    assert set(cited) == {"a.txt", "b.txt", "oneline.txt"} - {shown.passage.file}
    for name, lines in cited.items():
        text = (corpus_index.parent / "corpus" / name).read_text(encoding="utf-8")
        line = 1 + text[: text.index(SHARED)].count("\n")
        first, _, last = lines.partition("-")
        assert int(first) <= line <= int(last or first), (name, lines)


def test_max_per_file_caps_hits_from_one_file(corpus_index: Path):
    index = Index.open(corpus_index)
    question = "Do barn owls hunt mice?"
    uncapped = index.search(question, k=4, mode="bm25")
    assert sum(h.passage.file == "owls.txt" for h in uncapped) >= 2, "without a cap, owls.txt fills the list"
    capped = index.search(question, k=4, mode="bm25", max_per_file=1)
    files = [h.passage.file for h in capped]
    assert files.count("owls.txt") == 1 and len(set(files)) == len(files)
    assert capped[0].passage == uncapped[0].passage, "the file's best passage is the one kept"
    assert {"farm.txt", "woods.txt"} <= set(files), "other files take the freed places"
    assert [h.rank for h in capped] == list(range(1, len(capped) + 1))
    two = index.search(question, k=4, mode="bm25", max_per_file=2)
    assert [h.passage.file for h in two].count("owls.txt") == 2
