"""Ask the real test node what `ipfs add -r` gives for a tree (the oracle for built roots)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import httpx


def add_files(api_url: str, files: Mapping[str, bytes], **params: str) -> str:
    """`ipfs add -r` of ``files`` (relative path -> bytes) as one directory; its root CID."""
    parts = [
        ("file", (f"root/{path}", data, "application/octet-stream"))
        for path, data in sorted(files.items())
    ]
    response = httpx.post(
        f"{api_url}/api/v0/add",
        params={"pin": "false", "cid-version": "0", **params},
        files=parts,
        timeout=600,
    )
    response.raise_for_status()
    results = {r["Name"]: r["Hash"] for r in map(json.loads, response.text.splitlines())}
    return results["root"]


def add_directory(api_url: str, directory: Path, **params: str) -> str:
    """add_files() of every file under ``directory``."""
    return add_files(
        api_url,
        {
            p.relative_to(directory).as_posix(): p.read_bytes()
            for p in directory.rglob("*")
            if p.is_file()
        },
        **params,
    )
