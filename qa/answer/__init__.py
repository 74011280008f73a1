"""After search: whether the documents answer the question (the verdict) and what kind of answer it asks for."""
