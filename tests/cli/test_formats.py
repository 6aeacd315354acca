"""The one table of output formats: every entry resolves, unknown names are usage errors."""

from __future__ import annotations

import pytest

from wheelset.errors import UsageError
from wheelset.formats import FORMATS, format_names, get_formatter


@pytest.mark.parametrize(
    ("kind", "name"), [(kind, name) for kind, names in FORMATS.items() for name in names]
)
def test_every_format_resolves_to_a_function(kind: str, name: str) -> None:
    formatter = get_formatter(kind, name)
    assert callable(formatter) and formatter.__name__.startswith("format_")


def test_an_unknown_format_is_a_usage_error_listing_the_choices() -> None:
    with pytest.raises(UsageError) as caught:
        get_formatter("diff", "yaml")
    assert caught.value.exit_code == 2 and "text, json" in str(caught.value)
    assert format_names("check") == ("text", "json", "github")
