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
