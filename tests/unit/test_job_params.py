from curation.enums import JobKind
from curation.jobs.catalog import KINDS
from curation.jobs.params import CHECKS, LIFTS_SAFETY, lifting


def test_every_parameter_of_every_job_kind_is_checked() -> None:
    params = set().union(*(KINDS[kind].params for kind in JobKind))
    assert params <= set(CHECKS) and LIFTS_SAFETY <= params


def test_a_lifting_parameter_counts_only_when_switched_on() -> None:
    assert lifting({"allow_private_hosts": False, "force": None, "promote": True}) == []
    assert lifting({"allow_private_hosts": True, "base_model": "org/name", "limit": 3}) == [
        "allow_private_hosts", "base_model"]
