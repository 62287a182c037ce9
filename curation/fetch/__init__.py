"""The fetch layer: URLs in, cleaned text and metadata out, stored as items (see ingest.py)."""
