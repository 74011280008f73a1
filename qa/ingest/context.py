"""What the embedder sees with each passage: the passage after its document's title (with
`IndexSettings.title_context`), and how many word pieces that leaves the passage itself."""

from __future__ import annotations

from qa import config
from qa.ingest.split import Passage, TokenCounter
from qa.sources import Document

#: Word pieces of a document title given to the embedder with each passage.
TITLE_TOKENS = 32
#: Word pieces kept free beside each passage for its context. The title takes at most TITLE_TOKENS; the
#: passages' size (and every measurement of them) was made with this room, so it stays.
CONTEXT_TOKENS = 48
#: The model sees at most this many word pieces of text (256 with its two special tokens).
MODEL_TOKENS = 254


def passage_tokens(settings: config.IndexSettings) -> int:
    """The largest passage, in word pieces, that leaves room for its context within the model's window."""
    room = CONTEXT_TOKENS + 1 if settings.title_context else 0
    return min(settings.max_tokens, MODEL_TOKENS - room)


def title(document: Document, counter: TokenCounter) -> str:
    """A document's title (its reader's, else its first content line), cut to TITLE_TOKENS word pieces."""
    first = document.paragraphs[0]
    line = document.title or document.text[first.start : first.end].split("\n")[0].strip()
    line = line[: TITLE_TOKENS * 16]    # a word piece is rarely longer: no need to tokenize a 10 MB first line
    offsets = counter.offsets(line)
    return line if len(offsets) <= TITLE_TOKENS else line[: offsets[TITLE_TOKENS][0]].rstrip()


def document_context(document: Document, counter: TokenCounter, settings: config.IndexSettings) -> str:
    """What the embedder sees before every passage of `document`: its title, or "" without title_context."""
    return title(document, counter) if settings.title_context else ""


def embedding_text(passage: Passage, context: str) -> str:
    """What the embedder sees: the passage, after its context ("": none) unless it starts with it."""
    return passage.text if not context or passage.text.startswith(context) else f"{context}\n{passage.text}"
