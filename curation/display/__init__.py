"""Showing untrusted text safely, without Streamlit: markdown escaping, safe links, and marking
passages in an escaped document. Imports nothing of curation but the standard library."""
