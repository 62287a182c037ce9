"""Curators at work: the queue (what to show next, leases, decisions, undo), current labels
derived from decisions, the model's mistakes against those labels, and who did how much.
Imports accounts, llm.latest, models.registry, jobs (to queue a retrain) and db."""
