import pytest

from curation.accounts.permissions import Actor, can, require
from curation.enums import Permission, Role
from curation.errors import PermissionDenied

CURATOR_ACTIONS = {Permission.VIEW, Permission.DECIDE, Permission.RELABEL, Permission.RETRAIN,
                   Permission.ADD_SOURCES}
ALLOWED = {
    Role.ADMIN: set(Permission),
    Role.LEAD: CURATOR_ACTIONS | {Permission.ADJUDICATE},
    Role.CURATOR: CURATOR_ACTIONS,
    Role.VIEWER: {Permission.VIEW},
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_each_role_is_allowed_exactly_its_actions(role: Role, permission: Permission) -> None:
    actor = Actor("someone", role)
    if permission in ALLOWED[role]:
        require(actor, permission)
        require(role.value, permission)
    else:
        with pytest.raises(PermissionDenied):
            require(actor, permission)
        assert not can(role.value, permission)


def test_refusal_names_the_user_the_role_the_action_and_who_may() -> None:
    with pytest.raises(PermissionDenied) as info:
        require(Actor("bob", Role.CURATOR), Permission.PROMOTE)
    assert str(info.value).startswith(
        "user 'bob' with role 'curator' may not promote a model version; this needs role admin"
    )


def test_an_unknown_role_may_do_nothing() -> None:
    assert not any(can("root", permission) for permission in Permission)
