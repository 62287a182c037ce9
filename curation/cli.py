"""`python -m curation ...`: a thin shell over the domain. Each command's docstring is its --help;
the machine-readable result is one JSON object on the last line of stdout, progress goes to
stderr, and a CurationError becomes a one-line message and exit code 1 only here, at the edge."""

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from curation.enums import OnConflict, QueueStrategy, Role, SourceType
from curation.errors import CurationError, JobError
from curation.progress import stderr_progress

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False)
user_app = typer.Typer(no_args_is_help=True, help="Manage user accounts (used when CURATION_AUTH is on).")
audit_app = typer.Typer(no_args_is_help=True, help="Read the audit log.")
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from stdin instead of a prompt.")
]


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result, default=str))


@app.command()
def init() -> None:
    """Create the data folder and bring the database schema up to date."""
    from curation.settings import get_settings
    from db.migrate import upgrade

    revision = upgrade()
    emit({"home": str(get_settings().home.resolve()), "revision": revision})


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A .jsonl or .csv file of research-radar rows.")],
    skip_invalid: Annotated[bool, typer.Option(help="Import the valid rows, list the rest.")] = False,
    if_empty: Annotated[bool, typer.Option(help="Do nothing if the database has items.")] = False,
    on_conflict: Annotated[OnConflict | None, typer.Option(
        help="When rows give one item different labels: keep the stored or first label, replace it "
             "with the file's last, or skip labelling that item. Default: refuse, naming them.")] = None,
) -> None:
    """Import labelled or unlabelled rows; a duplicate (same URL or text) adds its label and any
    missing text to the item it duplicates, and each one is reported. The worker then adds the
    new items to the search index and embeds and scores them (an index and a score job are queued)."""
    from curation.files.importing import ImportResult, import_file, item_count
    from curation.jobs.triggers import request_scoring, request_search_index
    from db.session import session_scope

    with session_scope() as session:
        if if_empty and item_count(session):
            emit(ImportResult().summary(file))
            return
        result = import_file(session, file, skip_invalid=skip_invalid, on_conflict=on_conflict,
                             progress=stderr_progress())
    for line in result.lines:
        print(line, file=sys.stderr)
    for error in result.skipped:
        print(f"skipped {error.describe(file)}", file=sys.stderr)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    summary = result.summary(file)
    if summary["imported"]:
        summary["index_job"] = request_search_index().id
        summary["score_job"] = request_scoring().id
        print(f"queued search index job #{summary['index_job']} and score job #{summary['score_job']} "
              "for the worker", file=sys.stderr)
    emit(summary)


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="File to write.")],
    format: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
) -> None:
    """Export every item with its current label, in the format import reads."""
    from curation.files.exporting import export_items
    from db.session import session_scope

    with session_scope() as session:
        rows = export_items(session, out, format)
    emit({"rows": rows, "path": str(out)})


@app.command()
def stats() -> None:
    """Counts: items, labelled, per label, decisions, model versions."""
    from curation.corpus.stats import collection_stats
    from db.session import session_scope

    with session_scope() as session:
        emit(collection_stats(session, _cli_actor()))


def _curator(session, name: str):  # type: ignore[no-untyped-def]
    """Triage from the shell acts as the user of that name (accounts on) or a curator of that
    name (accounts off), never more than a person at the Queue page; audited as from the CLI."""
    import getpass

    from curation.accounts.users import shell_actor

    return shell_actor(session, name, getpass.getuser())


@app.command("next")
def next_(
    curator: Annotated[str, typer.Option(help="Who is curating; the item is leased to them.")],
    strategy: Annotated[QueueStrategy, typer.Option(help="Which item comes next.")] = QueueStrategy.DENSITY,
    source_type: Annotated[SourceType | None, typer.Option(help="Only items of this source.")] = None,
) -> None:
    """Lease the next item to CURATOR and print it; {"id": null} when nothing is left."""
    from curation.triage.queue import QueueFilter, next_item
    from db.session import session_scope

    with session_scope() as session:
        served = next_item(session, _curator(session, curator), strategy=strategy,
                           filters=QueueFilter(source_type=source_type))
        emit(served.as_dict() if served else {"id": None})


@app.command()
def decide(
    item_id: Annotated[int, typer.Argument(help="The id `next` printed.")],
    action: Annotated[str, typer.Argument(help="accept, reject (the task's labels) or skip.")],
    curator: Annotated[str, typer.Option(help="Who decides.")],
    seconds: Annotated[float | None, typer.Option(help="Time spent; default: since served.")] = None,
    note: Annotated[str | None, typer.Option(help="An optional note kept with the decision.")] = None,
) -> None:
    """Record a decision on an item and release its lease."""
    from curation.triage.queue import RETRAIN_JOB
    from curation.triage.queue import decide as record
    from db.session import session_scope

    with session_scope() as session:
        decision = record(session, _curator(session, curator), item_id, action, seconds=seconds, note=note)
    emit({"decision_id": decision.id, "item_id": item_id, "label": action, "curator": curator,
          "retrain_job": session.info.get(RETRAIN_JOB)})


@app.command()
def undo(curator: Annotated[str, typer.Option(help="Whose last decision to revert.")]) -> None:
    """Revert CURATOR's own last decision; the item is served to them again."""
    from curation.triage.queue import undo as revert
    from db.session import session_scope

    with session_scope() as session:
        decision = revert(session, _curator(session, curator))
        emit({"undone_decision_id": decision.id, "item_id": decision.item_id, "label": decision.label,
              "group_id": decision.group_id})


def _cli_actor():  # type: ignore[no-untyped-def]
    """Whoever can run the CLI can read the database file, so the CLI acts as an admin; the audit
    log names the operating-system user."""
    import getpass

    from curation.accounts.permissions import Actor

    return Actor(f"cli:{getpass.getuser()}", Role.ADMIN)


def _read_password(from_stdin: bool) -> str:
    """Never from an argument: arguments end up in shell history and process lists."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[Role, typer.Option(help="What the user may do.")] = Role.CURATOR,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a user with a role; asks for the password."""
    from curation.accounts.users import add_user
    from db.session import session_scope

    password = _read_password(password_stdin)
    with session_scope() as session:
        emit(add_user(session, _cli_actor(), name, role, password))


@user_app.command("remove")
def user_remove(name: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Delete a user and end their logins."""
    from curation.accounts.users import remove_user
    from db.session import session_scope

    with session_scope() as session:
        remove_user(session, _cli_actor(), name)
    emit({"removed": name})


@user_app.command("passwd")
def user_passwd(
    name: Annotated[str, typer.Argument(help="Login name.")], password_stdin: PasswordStdin = False
) -> None:
    """Set a new password; also lifts a lockout and ends the user's logins."""
    from curation.accounts.users import set_password
    from db.session import session_scope

    password = _read_password(password_stdin)
    with session_scope() as session:
        set_password(session, _cli_actor(), name, password)
    emit({"name": name, "password_changed": True})


@user_app.command("role")
def user_role(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[Role, typer.Argument(help="What the user may do.")],
) -> None:
    """Change a user's role."""
    from curation.accounts.users import set_role
    from db.session import session_scope

    with session_scope() as session:
        set_role(session, _cli_actor(), name, role)
    emit({"name": name, "role": role})


@user_app.command("list")
def user_list() -> None:
    """List users with role and lockout state."""
    from curation.accounts.users import list_users
    from db.session import session_scope

    with session_scope() as session:
        emit({"users": list_users(session, _cli_actor())})


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Argument(help="File to write.")],
    format: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
) -> None:
    """Export the whole audit log, oldest first."""
    from curation.accounts.audit import export_audit
    from db.session import session_scope

    with session_scope() as session:
        content, rows = export_audit(session, _cli_actor(), format)
    out.write_text(content, newline="")
    emit({"rows": rows, "path": str(out)})


@app.command("serve-check")
def serve_check(host: Annotated[str, typer.Option(help="Address the app will listen on.")] = "127.0.0.1") -> None:
    """Refuse to serve beyond this machine without accounts, or with accounts but no admin."""
    from curation.accounts.binding import check_bind_address
    from curation.accounts.users import count_users
    from curation.errors import ConfigError
    from curation.settings import get_settings
    from db.session import session_scope

    auth = get_settings().auth
    check_bind_address(host, auth)
    if auth:
        with session_scope() as session:
            if not count_users(session, Role.ADMIN):
                raise ConfigError(
                    "accounts are on (CURATION_AUTH) but there is no admin to log in; add one with "
                    "`python -m curation user add NAME --role admin`"
                )
    emit({"host": host, "auth": auth})


@app.command()
def ingest(
    urls: Annotated[list[str] | None, typer.Argument(help="Page, feed, sitemap or YouTube URLs.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="A file with one URL a line.")] = None,
    allow_private_hosts: Annotated[bool, typer.Option(
        "--allow-private-hosts", help="Also fetch loopback/private addresses (local use, tests).")] = False,
    score: Annotated[bool, typer.Option(help="Score new items when a model is active.")] = True,
) -> None:
    """Fetch pages, feeds and YouTube transcripts into items; retries earlier failures."""
    from curation.pipeline import ingest_and_score

    lines = list(urls or [])
    if file is not None:
        lines += _read_url_file(file)
    result = ingest_and_score(lines, allow_private_hosts=allow_private_hosts or None, score=score,
                              progress=stderr_progress())
    for reason in result["errors"]:
        print(f"failed: {reason}", file=sys.stderr)
    if scoring := result.get("scoring"):
        print(scoring.get("note") or f"scored {scoring['scored']} new item(s) with {scoring['scorer']}",
              file=sys.stderr)
    emit({key: result[key] for key in ("fetched", "failed", "duplicates", "seconds")})


def _read_url_file(file: Path) -> list[str]:
    try:
        return file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CurationError(f"cannot read URL file {file} ({exc}); give a UTF-8 text file, one URL a line") from exc


jobs_app = typer.Typer(help="Background jobs: list recent ones, or submit one for the worker.")
app.add_typer(jobs_app, name="jobs")


@jobs_app.callback(invoke_without_command=True)
def jobs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many of the newest jobs to list.")] = 20,
) -> None:
    """List recent background jobs, newest first, with status and progress."""
    if ctx.invoked_subcommand:
        return
    from curation.jobs.store import job_summary, list_jobs
    from db.session import session_scope

    with session_scope() as session:
        emit({"jobs": [job_summary(job) for job in list_jobs(session, limit)]})


@jobs_app.command("submit")
def jobs_submit(
    kind: Annotated[str, typer.Argument(help="ingest, score, rescore, reason, train or refit.")],
    params: Annotated[str, typer.Option(help='Parameters as JSON, e.g. \'{"limit": 10}\'.')] = "{}",
) -> None:
    """Queue a background job; if one of the same kind is queued or running, show that one."""
    from curation.jobs.store import job_summary
    from curation.jobs.submit import submit_as

    try:
        parsed = json.loads(params)
    except json.JSONDecodeError as exc:
        raise JobError(f"--params {params!r} is not JSON ({exc}); write e.g. '{{\"limit\": 10}}'") from exc
    if not isinstance(parsed, dict):
        raise JobError(f"--params {params!r} must be a JSON object, e.g. '{{\"limit\": 10}}'")
    job, created = submit_as(_cli_actor(), kind, parsed)  # audited like a retrain from a page
    if not created:
        print(f"job {job.id} ({job.kind}) is already {job.status}; not starting another", file=sys.stderr)
    emit({**job_summary(job), "created": created})


@app.command()
def worker(
    workers: Annotated[int | None, typer.Option(help="Jobs run at once; default CURATION_WORKERS.")] = None,
    periodic: Annotated[bool, typer.Option(help="Run the schedules here; on one machine only.")] = True,
) -> None:
    """Run background jobs from the queue until stopped (Ctrl-C lets running jobs finish)."""
    import logging

    from curation.jobs.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    emit({"worker": run_worker(workers, periodic), "stopped": True})


@app.command()
def reason(
    limit: Annotated[int | None, typer.Option(help="Assess at most this many items.")] = None,
    batch: Annotated[bool, typer.Option(help="First steps through the provider's batch API, at half price.")] = False,
    auto: Annotated[bool, typer.Option(help="Only items in CURATION_LLM_AUTO_BAND, within the daily cap.")] = False,
    cancel_batches: Annotated[bool, typer.Option(help="Cancel open batches; the next --batch run collects.")] = False,
) -> None:
    """Write LLM assessments (verdict, evidence, cost) for items that have none yet."""
    from curation.llm import reasoning

    if cancel_batches:
        emit(reasoning.cancel_batches())
        return
    run = reasoning.assess_uncertain if auto else reasoning.reason_items
    result = run(limit=limit, batch=batch, progress=stderr_progress())
    if result["stopped"]:
        print(f"stopped: {result['stopped']}", file=sys.stderr)
    emit(result)


@app.command()
def train(
    base_model: Annotated[str | None, typer.Option(help="Hub name or local folder; default CURATION_BASE_MODEL.")] = None,
    promote: Annotated[bool, typer.Option(help="Activate it if its cross-validated F1 is not worse.")] = False,
    force: Annotated[bool, typer.Option(help="With --promote: activate it even if worse.")] = False,
) -> None:
    """Train a classifier on the current labels and register it as a new model version."""
    from models.training import train as train_model

    result = train_model(base_model=base_model, promote=promote, force=force, progress=stderr_progress())
    if result["base_model_note"]:
        print(f"warning: {result['base_model_note']}", file=sys.stderr)
    if result["promotion_refused"]:
        print(f"not promoted: {result['promotion_refused']}", file=sys.stderr)
    emit(result)


@app.command()
def score(
    all_items: Annotated[bool, typer.Option("--all", help="Score every item again, not only unscored ones.")] = False,
) -> None:
    """Score items that have no score from the active model version."""
    from models.scoring import rescore_all, score_unscored

    result = (rescore_all if all_items else score_unscored)(progress=stderr_progress())
    print(f"scorer: {result['scorer']}", file=sys.stderr)
    emit(result)


@app.command()
def evaluate(
    file: Annotated[Path, typer.Argument(help="A .jsonl or .csv file of labelled research-radar rows.")],
) -> None:
    """Score labelled rows with the active model and print its metrics; stores nothing."""
    from db.session import session_scope
    from models.evaluation import evaluate_file
    from models.registry import scorer_description

    result = evaluate_file(file)
    with session_scope() as session:
        print(f"scorer: {scorer_description(session)}", file=sys.stderr)
    emit(result)


@app.command("train-curve")
def train_curve() -> None:
    """Cross-validated F1 at 25/50/75/100% of the labels (mean and spread over seeds)."""
    from db.session import session_scope
    from models.crossval import train_curve as curve

    with session_scope() as session:
        emit(curve(session))


@app.command()
def agreement(
    curators: Annotated[bool, typer.Option(
        "--curators", help="Agreement between curators instead: per pair and overall, percent and "
        "Cohen's kappa on the items both decided; per curator pace and match with the final label.")] = False,
) -> None:
    """Agreement of LLM, classifier and curator labels; LLM cost and latency per 1,000 items."""
    from curation.llm.report import agreement_report
    from curation.triage.agreement import curator_agreement
    from db.session import session_scope

    with session_scope() as session:
        emit(curator_agreement(session, _cli_actor()) if curators else agreement_report(session))


@app.command()
def disputes(limit: Annotated[int, typer.Option(help="Most items to list.")] = 20) -> None:
    """Overlap items two curators labelled differently and no lead has settled yet."""
    from curation.triage.adjudication import list_disputes
    from db.session import session_scope

    with session_scope() as session:
        emit({"disputes": [d.as_dict() for d in list_disputes(session, _cli_actor(), limit)]})


@app.command()
def adjudicate(
    item_id: Annotated[int, typer.Argument(help="A disputed item's id (see `disputes`).")],
    label: Annotated[str, typer.Argument(help="The final label: one of the task's labels.")],
    lead: Annotated[str, typer.Option(help="Who settles it; recorded and audited as a lead.")],
    note: Annotated[str | None, typer.Option(help="Why, kept with the decision.")] = None,
) -> None:
    """Settle a disputed item: LEAD's label is final and becomes its training label."""
    from curation.accounts.permissions import Actor
    from curation.triage.adjudication import adjudicate as settle
    from db.session import session_scope

    with session_scope() as session:
        decision = settle(session, Actor(lead, Role.LEAD), item_id, label, note)
        emit({"decision_id": decision.id, "item_id": item_id, "label": label, "lead": lead})


# Curator power tools (issue 17): search, bulk decisions.
@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words or \"a phrase\"; operators are read as words.")],
    limit: Annotated[int, typer.Option(help="Most results.")] = 20,
    label: Annotated[str | None, typer.Option(help="Only items with this current label.")] = None,
    score_min: Annotated[float | None, typer.Option(help="Lowest active-model score.")] = None,
    score_max: Annotated[float | None, typer.Option(help="Highest active-model score.")] = None,
) -> None:
    """Full-text search over titles and text, best match first; says how many imported items
    the index job has still to add."""
    from dataclasses import asdict

    from curation.corpus.search_index import pending_count
    from curation.triage.search import SearchFilter, search_items
    from db.session import session_scope

    filters = SearchFilter(label=label, score_min=score_min, score_max=score_max)
    with session_scope() as session:
        hits = search_items(session, _cli_actor(), query, filters=filters, limit=limit)
        emit({"results": [asdict(hit) for hit in hits], "not_yet_searchable": pending_count(session)})


@app.command("decide-many")
def decide_many(
    action: Annotated[str, typer.Argument(help="accept, reject (the task's labels) or skip.")],
    item_ids: Annotated[list[int], typer.Argument(help="Item ids, each decided on its own.")],
    curator: Annotated[str, typer.Option(help="Who decides.")],
    note: Annotated[str | None, typer.Option(help="A note kept with every decision.")] = None,
) -> None:
    """Decide several items at once; items another curator holds are refused; `undo` reverts all."""
    from curation.triage.bulk import decide_many as record_many
    from db.session import session_scope

    with session_scope() as session:
        result = record_many(session, _curator(session, curator), item_ids, action, note=note)
    for refused in result.refused.values():
        print(f"refused: {refused}", file=sys.stderr)
    emit(result.as_dict())


@app.command("near-duplicates")
def near_duplicates(item_id: Annotated[int, typer.Argument(help="The item whose near-duplicates to list.")]) -> None:
    """The items whose text nearly repeats ITEM_ID's (its original and the other copies); decide
    them together with `decide-many`."""
    from curation.corpus.near_duplicates import near_duplicates_of
    from db.session import session_scope

    with session_scope() as session:
        emit({"item_id": item_id, "near_duplicates": near_duplicates_of(session, item_id)})


@app.command()
def similar(
    item_id: Annotated[int, typer.Argument(help="The item to find others like.")],
    k: Annotated[int, typer.Option("--k", help="How many.")] = 10,
) -> None:
    """The K items most like ITEM_ID by cosine of stored document vectors, with labels."""
    from dataclasses import asdict

    from curation.triage.similar import similar_items
    from db.session import session_scope

    with session_scope() as session:
        hits = similar_items(session, _cli_actor(), item_id, k=k)
        emit({"item_id": item_id, "similar": [asdict(hit) for hit in hits]})


def main() -> None:
    """Every error leaves masked (curation.redaction): on stderr, written through a redacting
    stream, and in the JSON line, so a provider error echoing a key prints no key."""
    from curation.redaction import RedactedStream, install_log_redaction, redact

    sys.stderr = RedactedStream(sys.stderr)  # type: ignore[assignment]
    try:
        install_log_redaction()
        app()
    except CurationError as exc:
        message = redact(str(exc))
        print(f"error: {message}", file=sys.stderr)
        emit({"error": message})
        sys.exit(1)
