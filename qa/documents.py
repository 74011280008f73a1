"""Kept for code written against the old module: everything moved to the `qa.sources` package."""

from qa.sources import Document, Paragraph, Skipped, Unreadable, discover, find_paragraphs, is_junk, read  # noqa: F401
