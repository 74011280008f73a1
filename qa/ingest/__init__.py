"""Ingest: split documents into passages, embed them (here or on a Dask cluster), build and watch an index."""
