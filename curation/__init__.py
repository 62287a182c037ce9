"""Curation: human-in-the-loop triage of articles, company pages and talks."""
