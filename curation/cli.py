"""`python -m curation ...`: a thin shell over the domain. Each command's docstring is its --help;
the machine-readable result is one JSON object on the last line of stdout, progress goes to
stderr, and a CurationError becomes a one-line message and exit code 1 only here, at the edge."""

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from curation.errors import CurationError
from curation.progress import stderr_progress

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False)


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
) -> None:
    """Import labelled or unlabelled rows; duplicates by URL or content are skipped."""
    from curation.importing import import_file, item_count
    from db.session import session_scope

    with session_scope() as session:
        if if_empty and item_count(session):
            emit({"imported": 0, "labelled": 0, "duplicates": 0, "skipped": [], "seconds": 0.0})
            return
        result = import_file(session, file, skip_invalid=skip_invalid, progress=stderr_progress())
    for error in result.skipped:
        print(f"skipped {error.describe(file)}", file=sys.stderr)
    emit(result.summary(file))


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="File to write.")],
    format: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
) -> None:
    """Export every item with its current label, in the format import reads."""
    from curation.exporting import export_items
    from db.session import session_scope

    with session_scope() as session:
        rows = export_items(session, out, format)
    emit({"rows": rows, "path": str(out)})


@app.command()
def stats() -> None:
    """Counts: items, labelled, per label, decisions, model versions."""
    from curation.stats import collection_stats
    from db.session import session_scope

    with session_scope() as session:
        emit(collection_stats(session))


def main() -> None:
    try:
        app()
    except CurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        emit({"error": str(exc)})
        sys.exit(1)
