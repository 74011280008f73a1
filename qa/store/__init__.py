"""The index on disk: generations of plain files, the build lock, and what qa owns."""
