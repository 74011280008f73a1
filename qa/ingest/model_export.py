"""The model's ONNX export in the generation a build writes: linked from the current generation after
checking it, taken from a killed build's checkpoint when complete, or exported anew."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from qa.errors import IndexFormatError
from qa.model.embedder import ONNX_FILES, interrupts_kept
from qa.model.export import export_is_complete, write_export
from qa.store.generation import link_or_copy
from qa.store.stored import StoredIndex


def model_intact(previous: StoredIndex) -> bool:
    """The generation's ONNX files match their checksums (none recorded: nothing to damage)."""
    if not (previous.manifest.model and previous.manifest.model.onnx):
        return True
    try:
        for name in ONNX_FILES:
            previous.verify(name)
    except IndexFormatError:
        return False
    return True


def onnx_files(folder: Path, model: str, quantization: str, previous: StoredIndex | None,
               stage: Callable[[str], None], notes: list[str]) -> dict[str, Path]:
    """The model's ONNX files in `folder` (empty when it cannot be exported: `notes` says why). `previous`:
    the current generation when it was made with this model and quantization; `stage(name)` reports a
    model stage to the progress display."""
    files = {name: folder / name for name in ONNX_FILES}
    if previous and previous.manifest.model and previous.manifest.model.onnx:
        if model_intact(previous):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            for name, path in files.items():
                link_or_copy(previous.folder / name, path)
            return files
        notes.append("the current index's model is damaged; exporting the model again")
    if export_is_complete(folder, quantization):
        return files
    shutil.rmtree(folder, ignore_errors=True)
    stage("exporting the model")
    try:
        with interrupts_kept():
            write_export(model, folder, quantization)
    except Exception as error:  # an unsupported architecture, no torch...: fall back, never guess
        notes.append(f"ONNX export failed ({str(error).splitlines()[0] if str(error) else type(error).__name__})")
        shutil.rmtree(folder, ignore_errors=True)
        return {}
    return files
