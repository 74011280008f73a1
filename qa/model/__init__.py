"""The embedding model: loading, exporting to ONNX, and embedding without torch."""
