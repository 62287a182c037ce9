"""Which job kinds exist, the params each takes and the permission a person needs to start one.
Light on purpose: pages and the CLI read it to check a request without loading torch; the
worker's runner resolves `target` (a "module:function" name) only when it runs the job."""

from dataclasses import dataclass

from curation.enums import JobKind, Permission
from curation.errors import JobError


@dataclass(frozen=True)
class JobKindSpec:
    """`target` is called as target(params, progress) -> result dict. `per_params`: jobs with
    different params may run side by side (two ingests of different URLs); otherwise one job
    of the kind at a time."""

    target: str
    params: frozenset[str] = frozenset()
    per_params: bool = False
    permission: Permission = Permission.CHANGE_SETTINGS


KINDS: dict[str, JobKindSpec] = {
    JobKind.INGEST: JobKindSpec("curation.jobs.kinds:ingest", frozenset({"urls", "allow_private_hosts"}),
                                per_params=True, permission=Permission.ADD_SOURCES),
    JobKind.SCORE: JobKindSpec("curation.jobs.kinds:score", permission=Permission.ADD_SOURCES),
    JobKind.RESCORE: JobKindSpec("curation.jobs.kinds:rescore", permission=Permission.ADD_SOURCES),
    JobKind.REASON: JobKindSpec("curation.jobs.kinds:reason", frozenset({"limit", "batch", "auto"}),
                                permission=Permission.ADD_SOURCES),
    JobKind.TRAIN: JobKindSpec("curation.jobs.kinds:train", frozenset({"base_model", "promote", "force"}),
                               permission=Permission.RETRAIN),
    JobKind.REFIT: JobKindSpec("curation.jobs.kinds:refit", permission=Permission.RETRAIN),
    JobKind.INDEX: JobKindSpec("curation.jobs.kinds:index", permission=Permission.ADD_SOURCES),
}


def spec_of(kind: str) -> JobKindSpec:
    spec = KINDS.get(kind)
    if spec is None:
        raise JobError(f"unknown job kind {kind!r}; use one of: {', '.join(sorted(KINDS))}")
    return spec
