"""Opening a root: the manifest from untrusted gateways is authenticated by rebuilding the root."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.support.gateways import content_gateway
from tests.support.roots import DEFAULT_PLATFORMS, declare_wheel
from tests.support.wheels import make_wheel
from wheelset.build.manifest import format_manifest, manifest_of
from wheelset.build.tree import build_root
from wheelset.client.root import (
    InvalidRoot,
    RootError,
    authenticate_manifest,
    open_root,
    parse_root_ref,
)
from wheelset.fetch.cache import Cache
from wheelset.ipfs.gateway import GatewayFetcher
from wheelset.ipfs.importer import import_bytes

DEAD = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("wheels")
    wheels = [
        make_wheel(directory, "alpha", "1.0", requires_dist=["beta"]),
        make_wheel(directory, "beta", "2.0"),
    ]
    return manifest_of(DEFAULT_PLATFORMS, [declare_wheel(w)[0] for w in wheels])


@pytest.fixture()
def http():
    with httpx.Client() as client:
        yield client


def _served(root, data: bytes) -> dict[str, bytes]:
    return {f"/ipfs/{root}/wheelset.json": data}


@pytest.mark.parametrize(
    "text",
    [
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
        "/ipfs/QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn/",
        "ipfs://QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354",
    ],
)
def test_root_text_forms(text: str) -> None:
    ref = parse_root_ref(text)
    assert ref.cid is not None and ref.directory is None
    assert (
        ref.cid.to_v1()
        == parse_root_ref("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").cid.to_v1()
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not-a-cid",
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3N",
        "/ipfs/QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn/alpha",
        "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",  # raw codec: a file
    ],
)
def test_malformed_roots(text: str) -> None:
    with pytest.raises(InvalidRoot) as info:
        parse_root_ref(text)
    assert info.value.code == "ROOT"


def test_a_directory_root_needs_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(InvalidRoot, match=r"without wheelset\.json"):
        parse_root_ref(str(tmp_path))
    (tmp_path / "wheelset.json").write_text("{}")
    assert parse_root_ref(str(tmp_path)).directory == tmp_path


def test_authentic_manifest_from_the_second_gateway(manifest, http, tmp_path: Path) -> None:
    root = build_root(manifest).cid
    genuine = format_manifest(manifest)
    sha = manifest.declarations[0].sha256.encode()
    forged = genuine.replace(sha, b"0" * 64)
    assert forged != genuine
    with (
        content_gateway(_served(root, forged)) as liar,
        content_gateway(_served(root, genuine)) as honest,
    ):
        fetcher = GatewayFetcher([DEAD, liar.url, honest.url], http=http)
        opened = open_root(parse_root_ref(str(root)), fetcher, cache=Cache(tmp_path))
    assert opened.cid == root and opened.manifest == manifest and opened.source == honest.url
    # Cached: opens again with no gateway at all reachable.
    again = open_root(
        parse_root_ref(str(root)), GatewayFetcher([DEAD], http=http), cache=Cache(tmp_path)
    )
    assert again.source == "cache" and again.manifest == manifest


def test_a_forged_manifest_everywhere_is_refused(manifest, http) -> None:
    root = build_root(manifest).cid
    other = manifest_of(DEFAULT_PLATFORMS, manifest.declarations[:1])
    with (
        content_gateway(_served(root, format_manifest(other))) as liar,
        pytest.raises(RootError) as info,
    ):
        open_root(parse_root_ref(str(root)), GatewayFetcher([liar.url], http=http))
    assert "MISMATCH" in info.value.one_line() and str(root) in str(info.value)


def test_a_tampered_cache_entry_is_dropped(manifest, http, tmp_path: Path) -> None:
    root = build_root(manifest).cid
    cache = Cache(tmp_path)
    cache.manifest_path(root).parent.mkdir(parents=True)
    sha = manifest.declarations[0].sha256.encode()
    cache.manifest_path(root).write_bytes(format_manifest(manifest).replace(sha, b"1" * 64))
    with content_gateway(_served(root, format_manifest(manifest))) as honest:
        opened = open_root(
            parse_root_ref(str(root)), GatewayFetcher([honest.url], http=http), cache=cache
        )
    assert opened.source == honest.url
    assert cache.manifest_path(root).read_bytes() == format_manifest(manifest)


def test_unknown_format_version_is_reported_as_such(manifest, http) -> None:
    doc = json.loads(format_manifest(manifest))
    doc["version"] = 99
    data = json.dumps(doc).encode()
    root = import_bytes(b"some directory").cid  # any root: the version is checked first
    with (
        content_gateway(_served(root, data)) as a,
        content_gateway(_served(root, data)) as b,
        pytest.raises(RootError, match="unknown manifest format version 99"),
    ):
        open_root(parse_root_ref(str(root)), GatewayFetcher([a.url, b.url], http=http))


def test_missing_manifest_and_unreachable_gateways(http) -> None:
    root = import_bytes(b"not a wheelset root").cid
    with (
        content_gateway({}) as empty,
        pytest.raises(RootError, match=r"no /wheelset\.json on any gateway"),
    ):
        open_root(parse_root_ref(str(root)), GatewayFetcher([empty.url], http=http))
    with pytest.raises(RootError) as info:
        open_root(parse_root_ref(str(root)), GatewayFetcher([DEAD, DEAD + "1"], http=http))
    assert DEAD in str(info.value) and "\n" not in info.value.one_line()


def test_build_directory_root(manifest, http, tmp_path: Path) -> None:
    (tmp_path / "wheelset.json").write_bytes(format_manifest(manifest))
    opened = open_root(parse_root_ref(str(tmp_path)), GatewayFetcher([DEAD], http=http))
    assert opened.cid == build_root(manifest).cid and opened.source == str(tmp_path)
    (tmp_path / "wheelset.json").write_text("{")
    with pytest.raises(RootError, match="not JSON"):
        open_root(parse_root_ref(str(tmp_path)), GatewayFetcher([DEAD], http=http))


def test_authenticate_manifest_accepts_a_cidv1_root(manifest) -> None:
    root = build_root(manifest).cid
    assert authenticate_manifest(root.to_v1(), format_manifest(manifest)) == manifest
