"""The items themselves: canonical URLs, text normalisation and hashing, listings and counts.
Leaf helpers: imports only settings, enums, triage.labels and db."""
