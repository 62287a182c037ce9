"""The README's configuration table is the settings' documentation: it must list every setting
of curation/settings.py, and nothing that is not one."""

import re

from curation.settings import Settings
from tests.factories import REPO

ROW = re.compile(r"^\| `CURATION_([A-Z0-9_]+)` \|", re.MULTILINE)


def test_readme_lists_exactly_the_settings_fields() -> None:
    documented = {name.lower() for name in ROW.findall((REPO / "README.md").read_text())}
    assert documented == set(Settings.model_fields)
