"""import_path(): trees on disk give the CIDs `ipfs add -r` gives, and bad paths fail clearly."""

from __future__ import annotations

import os
import socket
import tracemalloc
from pathlib import Path

import pytest

from tests.ipfs.conftest import write_tree
from wheelset.ipfs.blockstore import MemoryBlockStore
from wheelset.ipfs.directory import build_directory
from wheelset.ipfs.filesystem import ImportPathError, import_path, is_hidden
from wheelset.ipfs.importer import ImportParams, import_bytes

PLANETS = {"mars.txt": b"Hello Mars!\n", "venus.txt": b"Hello Venus!\n"}
PLANETS_V0 = "QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY"
PLANETS_V1 = "bafybeih7e5dmkyk25up5vxug4q3hrg2fxbzf23dfrac2fns5h7z4aa7ioi"
EMPTY_DIR = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
EMPTY_FILE = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"


def cid_of(path: Path | str, **kwargs: object) -> str:
    return str(import_path(path, **kwargs).cid)  # type: ignore[arg-type]


def test_planets_directory(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "planets", PLANETS)
    assert cid_of(root) == PLANETS_V0
    assert cid_of(root, params=ImportParams(cid_version=1)) == PLANETS_V1


def test_hidden_entries_are_skipped_inside_directories(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "planets", {**PLANETS, ".secret": b"x", ".git": {"HEAD": b"x"}})
    assert cid_of(root) == PLANETS_V0
    assert cid_of(root, include_hidden=True) != PLANETS_V0


def test_hidden_path_given_directly_is_added(tmp_path: Path) -> None:
    # t0040 "ipfs add on hidden file succeeds"
    hidden = tmp_path / ".hello.txt"
    hidden.write_bytes(b"Hello Worlds!\n")
    assert cid_of(hidden) == "QmVr26fY1tKyspEJBniVhqxQeEjhF78XerGiqWAwraVLQH"
    assert cid_of(write_tree(tmp_path / ".planets", PLANETS)) == PLANETS_V0


@pytest.mark.parametrize(
    ("name", "hidden"), [(".git", True), (".a", True), ("a.", False), ("a", False)]
)
def test_is_hidden(name: str, hidden: bool) -> None:
    assert is_hidden(name) is hidden


def test_empty_directories_are_kept(tmp_path: Path) -> None:
    assert cid_of(write_tree(tmp_path / "empty", {})) == EMPTY_DIR
    only_hidden = write_tree(tmp_path / "only-hidden", {".keep": b""})
    assert cid_of(only_hidden) == EMPTY_DIR
    nested = write_tree(tmp_path / "nested", {"sub": {}})
    expected = build_directory([("sub", build_directory([]))])
    assert cid_of(nested) == str(expected.cid)


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    assert cid_of(tmp_path / "empty") == EMPTY_FILE


def test_t0040_hey_hello_as_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_tree(tmp_path / "cur", {"hey": b"Hey\n", "hello": {"world": b"World\n"}})
    monkeypatch.chdir(root)
    assert cid_of(".") == "QmZQWnfcqJ6hNkkPvrY9Q5X39GP3jUnUbAV4AbmbbR3Cb1"
    assert cid_of("./") == "QmZQWnfcqJ6hNkkPvrY9Q5X39GP3jUnUbAV4AbmbbR3Cb1"


def test_unicode_names(tmp_path: Path) -> None:
    tree = {"ą": {"ę": {"file-źł.txt": b"utf8\n"}}, "日本": b"x", "e\u0301": b"nfd"}
    root = write_tree(tmp_path / "u", tree)
    expected = build_directory(
        [
            (
                "ą",
                build_directory(
                    [("ę", build_directory([("file-źł.txt", import_bytes(b"utf8\n"))]))]
                ),
            ),
            ("日本", import_bytes(b"x")),
            ("e\u0301", import_bytes(b"nfd")),
        ]
    )
    assert cid_of(root) == str(expected.cid)


def test_symlink_fixture(tmp_path: Path) -> None:
    """gateway-conformance path_gateway_unixfs/symlink.car: foo = "content", bar -> foo."""
    root = write_tree(tmp_path / "d", {"foo": b"content\n"})
    (root / "bar").symlink_to("foo")
    assert cid_of(root / "foo") == "Qme2y5HA5kvo2jAx13UsnV5bQJVijiAJCPvaW3JGQWhvJZ"
    assert cid_of(root / "bar") == "QmTB8BaCJdCH5H3k7GrxJsxgDNmNYGGR71C58ERkivXoj5"
    assert cid_of(root) == "QmWvY6FaqFMS89YAQ9NAPjVP4WZKA1qbHbicc9HeSKQTgt"


def test_symlink_block_is_nine_bytes(tmp_path: Path) -> None:
    (tmp_path / "bar").symlink_to("foo")
    store = MemoryBlockStore()
    node = import_path(tmp_path / "bar", store=store)
    assert store.get(node.cid).hex() == "0a0708041203666f6f"  # Type=Symlink, Data="foo"
    assert node.tsize == 9


def test_symlink_argument_is_not_followed(tmp_path: Path) -> None:
    planets = write_tree(tmp_path / "planets", PLANETS)
    (tmp_path / "link").symlink_to(planets)
    link_cid = cid_of(tmp_path / "link")
    assert link_cid != PLANETS_V0
    assert cid_of(f"{tmp_path / 'link'}/") == link_cid  # Go's filepath.Clean drops the slash
    assert cid_of(tmp_path / "link", dereference_symlinks=True) == PLANETS_V0


def test_dereference_symlinks_everywhere(tmp_path: Path) -> None:
    # t0040 test_add_cat_derefargs: a link to an empty file hashes as the empty file.
    (tmp_path / "zero").write_bytes(b"")
    (tmp_path / "link").symlink_to("zero")
    assert cid_of(tmp_path / "link", dereference_symlinks=True) == EMPTY_FILE
    root = write_tree(tmp_path / "planets", {"mars.txt": PLANETS["mars.txt"]})
    (tmp_path / "venus-elsewhere").write_bytes(PLANETS["venus.txt"])
    (root / "venus.txt").symlink_to(tmp_path / "venus-elsewhere")
    assert cid_of(root) != PLANETS_V0
    assert cid_of(root, dereference_symlinks=True) == PLANETS_V0


def test_dangling_symlink_is_stored_unless_followed(tmp_path: Path) -> None:
    (tmp_path / "dangling").symlink_to("nowhere")
    assert cid_of(tmp_path / "dangling").startswith("Qm")
    with pytest.raises(ImportPathError) as e:
        import_path(tmp_path / "dangling", dereference_symlinks=True)
    assert (e.value.code, e.value.path) == ("NOT-FOUND", str(tmp_path / "dangling"))


def test_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to("loop")
    assert cid_of(tmp_path / "loop").startswith("Qm")  # just a link whose target is "loop"
    with pytest.raises(ImportPathError) as e:
        import_path(tmp_path / "loop", dereference_symlinks=True)
    assert (e.value.code, e.value.path) == ("SYMLINK-LOOP", str(tmp_path / "loop"))


def test_directory_cycle_through_symlink(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "d", {"sub": {"f": b"x"}})
    (root / "sub" / "up").symlink_to("..")
    assert cid_of(root).startswith("Qm")
    with pytest.raises(ImportPathError) as e:
        import_path(root, dereference_symlinks=True)
    assert e.value.code == "SYMLINK-LOOP"
    assert str(e.value.path).startswith(str(root / "sub" / "up"))


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ImportPathError) as e:
        import_path(tmp_path / "missing")
    assert (e.value.code, e.value.path) == ("NOT-FOUND", str(tmp_path / "missing"))
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(ImportPathError) as e:
        import_path(tmp_path / "file" / "below")
    assert e.value.code == "NOT-FOUND"


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ImportPathError) as e:
        import_path(tmp_path / "pipe")
    assert (e.value.code, e.value.path) == ("SPECIAL-FILE", str(tmp_path / "pipe"))
    assert "FIFO" in e.value.one_line()


def test_special_file_inside_directory_names_it(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "d", PLANETS)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(root / "sock"))
        with pytest.raises(ImportPathError) as e:
            import_path(root)
    assert (e.value.code, e.value.path) == ("SPECIAL-FILE", str(root / "sock"))


def test_hidden_special_file_is_skipped(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "planets", PLANETS)
    os.mkfifo(root / ".pipe")
    assert cid_of(root) == PLANETS_V0


def test_character_device_is_refused() -> None:
    with pytest.raises(ImportPathError) as e:
        import_path("/dev/null")
    assert e.value.code == "SPECIAL-FILE"


def test_unreadable_file(unreadable_file: Path) -> None:
    with pytest.raises(ImportPathError) as e:
        import_path(unreadable_file)
    assert (e.value.code, e.value.path) == ("UNREADABLE", str(unreadable_file))


def test_unreadable_directory(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root lists directories whatever their mode; no stand-in exists")
    root = write_tree(tmp_path / "d", {"locked": {"f": b"x"}})
    (root / "locked").chmod(0)
    try:
        with pytest.raises(ImportPathError) as e:
            import_path(root)
        assert (e.value.code, e.value.path) == ("UNREADABLE", str(root / "locked"))
    finally:
        (root / "locked").chmod(0o755)


def test_non_utf8_name(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "d", {})
    fd = os.open(os.path.join(os.fsencode(root), b"caf\xe9"), os.O_CREAT | os.O_WRONLY)
    os.close(fd)
    with pytest.raises(ImportPathError) as e:
        import_path(root)
    assert e.value.code == "NAME"


def test_deep_tree_does_not_recurse(tmp_path: Path) -> None:
    depth = 1500  # deeper than Python's default recursion limit
    # os.makedirs and shutil.rmtree recurse, so build and remove the chain by hand.
    levels = [os.path.join(tmp_path, *["d"] * n) for n in range(1, depth + 2)]
    for level in levels:
        os.mkdir(level)
    try:
        expected = build_directory([])
        for _ in range(depth):
            expected = build_directory([("d", expected)])
        assert cid_of(levels[0]) == str(expected.cid)
    finally:
        for level in reversed(levels):
            os.rmdir(level)


def peak_memory_of_import(path: Path) -> int:
    tracemalloc.start()
    try:
        assert import_path(path).file_size == path.stat().st_size
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_file_size(tmp_path: Path) -> None:
    peaks = []
    for size in (16 << 20, 128 << 20):
        sparse = tmp_path / f"sparse-{size}"
        with sparse.open("wb") as f:
            f.truncate(size)
        peaks.append(peak_memory_of_import(sparse))
    assert peaks[1] < 16 << 20  # bytes: a few read buffers, not the file
    assert peaks[1] < peaks[0] * 1.1 + (64 << 10)


def test_blocks_go_to_the_store(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "planets", PLANETS)
    store = MemoryBlockStore()
    result = import_path(root, store=store)
    assert result.cid in store
    assert len(store) == 3
