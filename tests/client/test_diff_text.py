"""diff's text report: each changed wheel once, its platforms summarised."""

from __future__ import annotations


def test_text_names_each_wheel_once_with_its_platforms_summarised() -> None:
    from wheelset.client.diff import PlatformChange, RootDiff, format_text
    from wheelset.ipfs.cid import parse_cid
    from wheelset.model.platforms import make_platform

    shared = tuple(
        make_platform(py, system)
        for py in ("3.11", "3.12")
        for system in ("manylinux_2_28_x86_64", "win_amd64")
    )
    pure, win = "new-2.0-py3-none-any.whl", "old-1.0-cp311-cp311-win_amd64.whl"
    changes = tuple(
        PlatformChange(p.id, (pure,), (win,) if p.id == "cp311-win_amd64" else ()) for p in shared
    )
    cid = parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn")
    text = format_text(RootDiff(cid, cid, (), (), (), (), changes, (), (), shared))
    assert text.splitlines()[3:] == [
        "wheels: 1 in, 1 out",
        "  + new-2.0-py3-none-any.whl (on all 4 platforms)",
        "  - old-1.0-cp311-cp311-win_amd64.whl (on cp311-win_amd64)",
    ]


def test_markdown_tabulates_projects_and_lists_wheels_in_code_spans() -> None:
    from wheelset.client.diff import (
        PlatformChange,
        ProjectChange,
        RootDiff,
        WheelReplaced,
        format_markdown,
    )
    from wheelset.formats import get_formatter
    from wheelset.ipfs.cid import parse_cid
    from wheelset.model.platforms import make_platform

    shared = tuple(make_platform("3.12", s) for s in ("manylinux_2_28_x86_64", "win_amd64"))
    a = parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn")
    b = parse_cid("QmZVQHSQbLGE2spYZxr2nCmqBz8q5HsXuQHuR4z4p6xdNY")
    wheel = "new_thing-2.0-py3-none-any.whl"
    diff = RootDiff(
        a,
        b,
        (ProjectChange("new-thing", None, "2.0"),),
        (ProjectChange("gone", "1.0", None),),
        (ProjectChange("up", "1.0", "1.1"),),
        (),
        tuple(PlatformChange(p.id, (wheel,), ()) for p in shared),
        ("cp313-win_amd64",),
        (),
        shared,
        (WheelReplaced("same-1.0-py3-none-any.whl", a, b),),
    )
    assert get_formatter("diff", "markdown") is format_markdown
    assert format_markdown(diff).splitlines() == [
        f"Root `{a}` → `{b}`",
        "",
        "| change | project | from | to |",
        "|---|---|---|---|",
        "| added | `new-thing` |  | 2.0 |",
        "| removed | `gone` | 1.0 |  |",
        "| upgraded | `up` | 1.0 | 1.1 |",
        "",
        "**Wheels:** 1 in, 0 out",
        "",
        f"- in: `{wheel}` (on all 2 platforms)",
        "",
        "**Wheels with other bytes under the same name:**",
        "",
        f"- `same-1.0-py3-none-any.whl` `{a}` → `{b}`",
        "",
        "**Platforms added:** cp313-win_amd64",
    ]
    empty = RootDiff(a, a, (), (), (), (), (), (), ())
    assert format_markdown(empty).splitlines()[-1] == "No differences."
