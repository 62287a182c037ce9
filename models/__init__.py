"""The classifier: window-level encoder + head, training, scoring and the registry of versions.

Never imports Streamlit; the pages call models.scoring and models.registry."""
