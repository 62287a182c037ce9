"""Background work: ingest, score, rescore, reason and train run in a worker, not in the page or
command that asked for them.

    catalog   which kinds exist, their params and who may start them (light: no torch)
    store     the jobs table: insert, claim, progress, finish, dead-job detection
    broker    Huey, which carries job ids to the workers; knows no job code
    runner    runs one job: claim, call its kind, record the outcome
    kinds     what each kind does (imports the heavy domain: models, fetch, llm)
    submit    queue a job, for the system or for a person (role and params checked)
    triggers  rules that queue jobs by themselves (retrain after N labels)
    worker    the worker process: schedules, dead-job recovery, the Huey consumer

Imports point one way: submit -> broker -> runner -> store/catalog; runner resolves a kind's
function by its dotted name when it runs it, so producers (pages, the CLI) never load torch."""
