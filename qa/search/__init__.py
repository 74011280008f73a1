"""Search: dense (FAISS) and BM25 rankings, their fusion, and collapsing the ranking into hits."""
