"""Files in and out: the research-radar row format, import (with dedup, one transaction) and
export. Imports corpus, triage.labels and db."""
