"""Answer-marking accuracy per search mode and per format: `python tests/bench/marking.py --index DIR QUESTIONS.jsonl ...`.

For every answerable question, take the first of the top `config.ANSWER_PASSAGES` hits (the ones that get
a marked sentence) whose passage answers it (gold file and phrase, as `qa eval` counts it) and check the
sentence marked in that hit against the gold phrase in the source file:

- overlaps: the marked sentence and the gold phrase share text;
- holds: the marked sentence holds the whole gold phrase (or, for a gold phrase longer than one sentence,
  lies inside it).

Prints one JSON line per question set, mode (hybrid, dense, bm25) and format (the gold file's suffix):
questions, reachable (an answering hit in the top 3), marked, overlaps, holds, and their share of reachable.

`--pdf-slice FOLDER`: also make a PDF copy of tests/pydoc-slice (each text file typeset with fpdf, its
paragraphs wrapped at the page's width, as PDFs are), index it in FOLDER (once; reused when there) and
score tests/bench/questions/pydoc-validation.jsonl on it with the gold files renamed .txt -> .pdf.

Runs against whatever `qa` is first on PYTHONPATH, so the same command compares two versions of the code
(each on an index it built).

`--seeds-formats FOLDER`: also ask the seeds' question files of the seeds typeset as Markdown, HTML, PDF
(fpdf, justified lines wrapped at the page's width) and DOCX, each indexed once in FOLDER, with the gold
files renamed.

Measured 2026-12-05 (load average 0.5-1.5), the seeds' question files (tests/questions.jsonl,
retrieval.jsonl, verdict/seeds{,-2,-3,-4,-5}.jsonl: 192 questions with gold, all read while choosing, so
validation numbers), holds / reachable, before (fe5a6c4) -> after (a list item's number no sentence of
its own; the mark takes in a next sentence that goes on about the marked one; a PDF line that fills the
wrap width goes on on the next line):

| format | hybrid | dense | bm25 |
|---|---|---|---|
| txt | 141/176 (80%) -> 148/176 (84%) | 142/176 (81%) -> 149/176 (85%) | 137/171 (80%) -> 142/171 (83%) |
| md | 141/177 (80%) -> 146/177 (82%) | 141/178 (79%) -> 148/178 (83%) | 137/171 (80%) -> 142/172 (83%) |
| html | 140/184 (76%) -> 147/184 (80%) | 142/182 (78%) -> 149/183 (81%) | 140/175 (80%) -> 143/176 (81%) |
| pdf | 116/176 (66%) -> 145/176 (82%) | 119/177 (67%) -> 149/176 (85%) | 122/175 (70%) -> 141/173 (82%) |
| docx | 143/184 (78%) -> 146/183 (80%) | 143/184 (78%) -> 149/184 (81%) | 140/177 (79%) -> 145/178 (81%) |

On tests/pydoc-slice with pydoc-validation.jsonl nothing changed: txt 10/36, 11/39, 9/34; its PDF typesetting
6/36, 7/37, 8/33.

Measured 2026-12-04, before the changes above (ecab387^ -> ecab387):

| set | hybrid | dense | bm25 |
|---|---|---|---|
| seeds, all (txt) | 127/176 (72%) -> 141/176 (80%) | 133/176 (76%) -> 142/176 (81%) | 0/171 -> 137/171 (80%) |

The Python docs sets' gold phrases name the passage that answers (often its first sentence or a code
line), not the answering sentence of a "how do I ..." question, so they undercount there: of the misses
read, many marked a sentence that answers too (a signature line for a keyword question, the example).
"""

from __future__ import annotations

import argparse
import html
import json
import re
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from qa import Index, config
from qa.evaluate import Question, answers, gold_span, load_questions

REPO = Path(__file__).resolve().parents[2]
SLICE = REPO / "tests" / "pydoc-slice"
SLICE_QUESTIONS = REPO / "tests" / "bench" / "questions" / "pydoc-validation.jsonl"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
MODES = ("hybrid", "dense", "bm25")




def score(index: Index, questions: list[Question], mode: str, name: str) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Counts per format (the gold file's suffix) and a line per wrongly marked question."""
    questions = [q for q in questions if q.gold]
    results = index.answer_many([q.question for q in questions], 10, mode)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(("questions", "reachable", "marked",
                                                                           "overlaps", "holds"), 0))
    wrong: list[str] = []
    for question, answer in zip(questions, results):
        kind = Path(question.gold[0][0]).suffix.lstrip(".") or "none"
        row = counts[kind]
        row["questions"] += 1
        hit = next((h for h in answer.hits[: config.ANSWER_PASSAGES] if answers(h, question.gold)), None)
        if hit is None:
            continue
        row["reachable"] += 1
        if hit.answer_start is None or hit.answer_end is None:
            wrong.append(f"{name} {mode} {question.id}: no sentence marked")
            continue
        row["marked"] += 1
        start, end = hit.answer_start, hit.answer_end
        spans = [s for s in (gold_span(hit.passage.text, hit.passage.start, p) for _, p in question.gold) if s]
        overlaps = any(s[0] < end and start < s[1] for s in spans)
        holds = any(start <= s[0] and s[1] <= end or s[0] <= start and end <= s[1] for s in spans)
        row["overlaps"] += overlaps
        row["holds"] += holds
        if not holds:
            source = index.stored.document_text(hit.passage.file)
            wrong.append(f"{name} {mode} {question.id}: {'overlaps' if overlaps else 'misses'}; marked "
                         f"{source[start:end][:100]!r}")
    return counts, wrong


def pdf_slice(folder: Path) -> Path:
    """An index of tests/pydoc-slice typeset as PDF (made once in `folder`)."""
    index_dir = folder / "index"
    if (index_dir / "CURRENT").is_file():
        return index_dir
    from fpdf import FPDF

    documents = folder / "docs"
    for path in sorted(SLICE.rglob("*.txt")):
        pdf = FPDF()
        pdf.add_font("DejaVu", fname=str(FONT))
        pdf.set_font("DejaVu", size=10)
        pdf.add_page()
        for paragraph in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
            # a prose paragraph (one line in the text form) is wrapped at the page's width; code keeps its lines
            pdf.multi_cell(0, 5, paragraph.strip("\n"), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        target = documents / path.relative_to(SLICE).with_suffix(".pdf")
        target.parent.mkdir(parents=True, exist_ok=True)
        pdf.output(str(target))
    Index.build([documents], index_dir)
    return index_dir


def as_pdf(questions: list[Question]) -> list[Question]:
    return as_format(questions, "pdf")


def as_format(questions: list[Question], suffix: str) -> list[Question]:
    """The questions with their gold files' .txt changed to `suffix`."""
    return [replace(q, gold=tuple((file.removesuffix(".txt") + "." + suffix, phrase) for file, phrase in q.gold))
            for q in questions]


FORMATS = ("md", "html", "pdf", "docx")


def seeds_formats(folder: Path) -> dict[str, Path]:
    """Indexes of the seeds typeset in each of FORMATS (made once in `folder`): the first line the title (a
    heading), each further line (a paragraph in the seeds) a paragraph (wrapped at the page's width in the PDF)."""
    indexes = {}
    for suffix in FORMATS:
        index_dir = folder / suffix / "index"
        indexes[suffix] = index_dir
        if (index_dir / "CURRENT").is_file():
            continue
        documents = folder / suffix / "docs"
        documents.mkdir(parents=True, exist_ok=True)
        for path in sorted((REPO / "seeds").glob("*.txt")):
            title, *paragraphs = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            target = documents / path.with_suffix("." + suffix).name
            if suffix == "md":
                target.write_text("\n\n".join([f"# {title}", *paragraphs]) + "\n", encoding="utf-8")
            elif suffix == "html":
                body = "".join(f"<p>{html.escape(p)}</p>\n" for p in paragraphs)
                target.write_text(f"<html><head><title>{html.escape(title)}</title></head><body>\n"
                                  f"<h1>{html.escape(title)}</h1>\n{body}</body></html>\n", encoding="utf-8")
            elif suffix == "pdf":
                from fpdf import FPDF

                pdf = FPDF()
                pdf.add_font("DejaVu", fname=str(FONT))
                pdf.set_font("DejaVu", size=10)
                pdf.add_page()
                for paragraph in [title, *paragraphs]:
                    pdf.multi_cell(0, 5, paragraph, new_x="LMARGIN", new_y="NEXT")
                    pdf.ln(3)
                pdf.output(str(target))
            else:
                import docx

                document = docx.Document()
                document.add_heading(title, level=1)
                for paragraph in paragraphs:
                    document.add_paragraph(paragraph)
                document.save(str(target))
        Index.build([documents], index_dir)
    return indexes


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--index", help="the index the question files are asked of")
    parser.add_argument("--pdf-slice", type=Path, help="folder for the PDF copy of tests/pydoc-slice and its index")
    parser.add_argument("--seeds-formats", type=Path, metavar="FOLDER",
                        help="also ask the question files of the seeds of copies of the seeds typeset as Markdown, "
                             "HTML, PDF and DOCX (indexed once in FOLDER)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: hybrid,dense,bm25")
    parser.add_argument("--verbose", action="store_true", help="list the questions whose marked sentence misses")
    parser.add_argument("questions", nargs="*", type=Path)
    args = parser.parse_args()
    runs: list[tuple[Index, str, list[Question]]] = []
    if args.index:
        index = Index.open(args.index)
        runs += [(index, path.name, load_questions(path)) for path in args.questions]
    if args.seeds_formats:
        for suffix, index_dir in seeds_formats(args.seeds_formats).items():
            typeset = Index.open(index_dir)
            runs += [(typeset, path.name, as_format(load_questions(path), suffix)) for path in args.questions]
    if args.pdf_slice:
        runs.append((Index.open(pdf_slice(args.pdf_slice)), "pydoc-slice-pdf", as_pdf(load_questions(SLICE_QUESTIONS))))
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for mode in args.modes.split(","):
        for index, name, questions in runs:
            counts, wrong = score(index, questions, mode, name)
            for kind, row in sorted(counts.items()):
                reachable = row["reachable"]
                shares = {f"{key}_share": round(row[key] / reachable, 3) if reachable else None
                          for key in ("overlaps", "holds")}
                print(json.dumps({"set": name, "mode": mode, "format": kind, **row, **shares}), flush=True)
                for key, value in row.items():
                    totals[f"{mode} {kind}"][key] += value
            if args.verbose:
                for line in wrong:
                    print("   ", line)
    for key, row in totals.items():
        mode, kind = key.split()
        reachable = row["reachable"]
        print(json.dumps({"set": "all", "mode": mode, "format": kind, **row,
                          **{f"{k}_share": round(row[k] / reachable, 3) if reachable else None
                             for k in ("overlaps", "holds")}}))


if __name__ == "__main__":
    main()
