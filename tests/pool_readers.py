"""A reader for tests of the reader pool (tests/test_pool.py): what it does is what the file says."""

from __future__ import annotations

import os
import signal
import time

from qa.config import ReadLimits
from qa.sources.document import Extracted, Paragraph


def read(data: bytes, limits: ReadLimits | None = None) -> Extracted:
    command = data.decode().strip()
    if command == "hang":
        time.sleep(3600)
    if command == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if command == "memory":
        hog = bytearray(8 * 2**30)     # past the worker's address-space limit
        del hog
    if command == "raise":
        raise LookupError("a library fault")
    if command == "recurse":
        def deeper(n: int) -> int:
            return deeper(n + 1) + 1
        deeper(0)
    if command == "huge":
        text = "word " * 400_000       # 2 MB of text
        return Extracted(text, [Paragraph(0, len(text) - 1, 0)])
    text = f"A readable file that says {command}."
    return Extracted(text, [Paragraph(0, len(text), 0)])
