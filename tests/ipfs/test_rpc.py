"""The Kubo RPC client against the real test node (js-ipfs, same API)."""

from __future__ import annotations

import io
import os

import httpx
import pytest

from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.car import write_car
from wheelset.ipfs.directory import build_tree
from wheelset.ipfs.importer import import_bytes
from wheelset.ipfs.rpc import KuboRpc, RpcError


@pytest.fixture
def rpc(ipfs_node):
    with httpx.Client() as http:
        yield KuboRpc(ipfs_node.api_url, http=http, timeout=60)


def test_version(rpc: KuboRpc) -> None:
    assert rpc.version()
    assert rpc.id()["Addresses"]


def test_add_gives_kubo_cid_and_pins(rpc: KuboRpc) -> None:
    data = os.urandom(300_000)  # two chunks
    entries = rpc.add(io.BytesIO(data), "blob.bin", pin=True)
    assert entries[-1].cid == import_bytes(data).cid
    assert entries[-1].tsize == import_bytes(data).tsize
    assert entries[-1].cid in rpc.pin_ls()


def test_add_unpinned_then_pin(rpc: KuboRpc) -> None:
    data = os.urandom(1000)
    cid = rpc.add(data, "small.bin", pin=False)[-1].cid
    assert cid not in rpc.pin_ls()
    assert rpc.block_get(cid)  # the node holds it unpinned
    rpc.pin_add(cid, timeout=30)
    assert cid in rpc.pin_ls()


def test_dag_import_reports_and_pins_root(rpc: KuboRpc) -> None:
    store = MemoryBlockStore()
    tree = {"a.txt": import_bytes(os.urandom(50), store=store), "d": {}}
    root = build_tree(tree, store=store)
    car = io.BytesIO()
    write_car(car, [root.cid], store.items())
    roots = rpc.dag_import(car.getvalue(), pin_roots=True)
    assert [(r.cid, r.pin_error) for r in roots] == [(root.cid, "")]
    assert root.cid in rpc.pin_ls()


def test_node_error_message_is_kept(rpc: KuboRpc) -> None:
    with pytest.raises(RpcError) as info:
        rpc.dag_import(b"this is not a CAR", pin_roots=True)
    assert info.value.code == "RPC"
    assert info.value.one_line().startswith("RPC dag/import: ")


def test_unreachable_node() -> None:
    with httpx.Client() as http, pytest.raises(RpcError, match="cannot reach"):
        KuboRpc("http://127.0.0.1:1", http=http).version()


def test_gateway_mistaken_for_api(ipfs_node) -> None:
    with httpx.Client() as http, pytest.raises(RpcError, match="RPC API address"):
        KuboRpc(ipfs_node.gateway_url, http=http).version()
