"""Faults between the manager and the store (through tests/fault_proxy.py): retries,
timeouts, and the invariant of multi-object operations: whatever request fails, every
original object stays readable, byte-identical, at its old or its new path."""

from __future__ import annotations

import base64
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from support.fault_proxy import Fault
from support.reliability_fixtures import expect_status, snapshot

pytestmark = pytest.mark.timeout(300)

TREE = {
    **{f"tree/file{i:02d}.txt": f"text {i}\n".encode() * (i + 1) for i in range(14)},
    **{f"tree/sub/bin{i}.dat": bytes(range(i, 256)) for i in range(6)},
    "tree/sub/deeper/nb.ipynb": b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n',
    "tree/sub/deeper/.ipynb_checkpoints/nb-checkpoint.ipynb": b'{"cells": [], "nbformat": 4}\n',
    "tree/.s3keep": b"",
    "tree/empty/.s3keep": b"",
}

# Faults that make one request fail for the client. `drop_response` is the nasty one:
# the store executed the request but the client cannot know it.
FAILING_FAULTS = {
    "error500": Fault.error("InternalError"),
    "reset": Fault("reset"),
    "lost_response": Fault("drop_response"),
}


_POOL = ThreadPoolExecutor(8)


def write_tree(raw, tree=TREE) -> None:
    raw.delete_all()
    list(_POOL.map(lambda item: raw.put(*item), tree.items()))


def fast_snapshot(raw) -> dict[str, bytes]:
    keys = sorted(raw.keys())
    return dict(zip(keys, _POOL.map(raw.read, keys)))


def check_invariant(raw, originals: dict[str, bytes], old: str, new: str) -> dict[str, bytes]:
    """Every original is at its old or new path with its bytes; nothing else appeared
    except (possibly) the target folder's marker and trashed copies."""
    now = fast_snapshot(raw)
    for path, body in originals.items():
        moved = new + path[len(old) :]
        at_old, at_new = now.get(path), now.get(moved)
        assert body in (at_old, at_new), f"{path} lost or changed: old={at_old!r:.40} new={at_new!r:.40}"
    for key, body in now.items():
        if key.startswith(new + "/"):
            source = old + key[len(new) :]
            assert key == f"{new}/.s3keep" or originals.get(source) == body, f"half-written {key}"
        else:
            assert key in originals, f"unexpected object {key}"
    return now


# =========================================================================== the proxy
def test_proxy_passes_requests_through(make_proxied_cm, fault_proxy, raw):
    cm = make_proxied_cm()
    cm.save({"type": "file", "format": "text", "content": "through the proxy"}, "p.txt")
    assert raw.read("p.txt") == b"through the proxy"
    assert cm.get("p.txt")["content"] == "through the proxy"
    methods = [r.method for r in fault_proxy.records]
    assert "PUT" in methods and "GET" in methods, fault_proxy.records
    assert all(r.status and r.status < 400 for r in fault_proxy.records if r.method != "HEAD"), fault_proxy.records


# =========================================================================== retries
def test_folder_metadata_asks_the_store_for_one_key(make_proxied_cm, fault_proxy, raw):
    """A folder's model without content needs only to know that something is under it:
    one LIST of one key (max-keys=1), not a page of 1 000 (issue 17)."""
    for i in range(3):
        raw.put(f"big/f{i}.txt", b"x")
    cm = make_proxied_cm()
    fault_proxy.reset()
    model = cm.get("big", content=False)
    assert model["type"] == "directory" and model["content"] is None
    lists = [r.target for r in fault_proxy.records if r.method == "GET" and "list-type=2" in r.target]
    assert len(lists) == 1 and "max-keys=1" in lists[0], fault_proxy.records
    assert len(fault_proxy.records) == 1, fault_proxy.records
    fault_proxy.reset()
    assert cm.dir_exists("big") and not cm.dir_exists("nothing-here")
    assert all("max-keys=1" in r.target for r in fault_proxy.records), fault_proxy.records


def test_copies_and_checkpoints_are_dated_by_the_copy_answer(make_proxied_cm, fault_proxy, raw):
    """S3 answers a CopyObject with the copy's LastModified and ETag: a file's copy and a
    checkpoint send no HEAD after their COPY (issue 17), and their models give the size and
    time the store's own HEAD gives afterwards."""
    raw.put("src.txt", b"twelve bytes")
    cm = make_proxied_cm()
    fault_proxy.reset()
    copied = cm.copy("src.txt", "dst.txt")
    methods = [(r.method, r.copy_source) for r in fault_proxy.records]
    assert methods[-1] == ("PUT", True), fault_proxy.records  # the COPY is the last request
    assert methods.count(("PUT", True)) == 1 and methods.count(("PUT", False)) == 1  # COPY, claim
    assert copied["size"] == 12 and raw.read("dst.txt") == b"twelve bytes"
    assert cm.get("dst.txt", content=False)["last_modified"] == copied["last_modified"]

    # A copy named from the listing of its source's folder (JupyterLab's Duplicate) takes
    # the source's size and ETag from that listing: LIST, claim, COPY, and no HEAD at all.
    fault_proxy.reset()
    duplicate = cm.copy("src.txt")
    kinds = [(r.method, r.copy_source) for r in fault_proxy.records]
    assert kinds == [("GET", False), ("PUT", False), ("PUT", True)], fault_proxy.records
    assert duplicate["path"] == "src-Copy1.txt" and duplicate["size"] == 12
    assert cm.get("src-Copy1.txt", content=False)["last_modified"] == duplicate["last_modified"]
    # Into another folder, that listing does not show the source: its HEAD goes out with
    # the claim.
    cm.new_untitled(type="directory")
    fault_proxy.reset()
    moved = cm.copy("src.txt", "Untitled Folder")
    kinds = [(r.method, r.copy_source) for r in fault_proxy.records]
    assert kinds[0] == ("GET", False) and kinds[-1] == ("PUT", True), fault_proxy.records
    assert sorted(kinds[1:-1]) == [("HEAD", False), ("PUT", False)], fault_proxy.records
    assert moved["size"] == 12 and cm.get(moved["path"], content=False)["last_modified"] == moved["last_modified"]

    fault_proxy.reset()
    checkpoint = cm.create_checkpoint("src.txt")
    assert [(r.method, r.copy_source) for r in fault_proxy.records] == [("PUT", True)]
    assert cm.list_checkpoints("src.txt") == [checkpoint]

    # A new notebook: its first checkpoint's COPY and the HEAD dating the file both follow
    # the create-only PUT (they go out together).
    fault_proxy.reset()
    model = cm.new_untitled(type="notebook")
    kinds = [(r.method, r.copy_source) for r in fault_proxy.records]
    assert kinds[:2] == [("GET", False), ("PUT", False)], fault_proxy.records
    assert sorted(kinds[2:]) == [("HEAD", False), ("PUT", True)], fault_proxy.records
    assert cm.get(model["path"], content=False)["last_modified"] == model["last_modified"]
    assert len(cm.list_checkpoints(model["path"])) == 1


def test_a_copy_from_a_stale_listing_is_sized_by_the_copy_itself(make_proxied_cm, fault_proxy, raw):
    """The source changed after the listing that named its copy: the COPY's ETag is not
    the listed one, so the listed size is not used and a HEAD of the copy gives the model."""
    raw.put("src.txt", b"short")
    cm = make_proxied_cm()
    _, listed = cm._store.child_names("", "src.txt")
    assert listed is not None and listed.size == 5
    raw.put("src.txt", b"a good deal longer now")
    fault_proxy.reset()
    copied = cm._store.copy_listed("src.txt", "src-Copy1.txt", listed)
    assert [r.method for r in fault_proxy.records][-1] == "HEAD", fault_proxy.records
    assert copied.size == len(b"a good deal longer now") and raw.read("src-Copy1.txt") == b"a good deal longer now"


def test_a_lowered_copy_threshold_dates_copies_with_a_head(make_proxied_cm, fault_proxy, raw):
    """With `multipart_copy_threshold` lowered, copies go through the store's own copy
    (which splits the large ones), and the copy is dated by a HEAD."""
    raw.put("src.txt", b"twelve bytes")
    cm = make_proxied_cm(multipart_copy_threshold=6 * 1024 * 1024)
    fault_proxy.reset()
    checkpoint = cm.create_checkpoint("src.txt")
    assert [r.method for r in fault_proxy.records][-2:] == ["PUT", "HEAD"], fault_proxy.records
    assert cm.list_checkpoints("src.txt") == [checkpoint]


@pytest.mark.parametrize(
    "fault",
    [
        Fault.error("InternalError"),
        Fault.error("SlowDown"),
        Fault.error("ServiceUnavailable"),
        Fault("reset"),
        Fault("drop"),
    ],
    ids=["500", "SlowDown", "503", "reset", "drop"],
)
def test_transient_faults_are_retried(make_proxied_cm, fault_proxy, raw, fault):
    raw.put("r.txt", b"old")
    cm = make_proxied_cm(max_retries=3)
    fault_proxy.add(fault, method="GET", times=2)
    assert cm.get("r.txt")["content"] == "old"
    fault_proxy.add(fault, method="PUT", times=2)
    cm.save({"type": "file", "format": "text", "content": "new"}, "r.txt")
    assert raw.read("r.txt") == b"new"
    assert len(fault_proxy.faults_fired()) == 4


def test_retries_are_bounded(make_proxied_cm, fault_proxy, raw):
    raw.put("r.txt", b"old")
    cm = make_proxied_cm(max_retries=2)
    fault_proxy.add(Fault.error("SlowDown"), times=None)
    error = expect_status(503, cm.get, "r.txt")
    assert "kept failing to read" in error.log_message and "after retries: SlowDown" in error.log_message, (
        error.log_message
    )
    # First attempt plus two retries, for the one request the get starts with (the
    # manager's start-up listing, which checks that the bucket exists, came before).
    reads = [r for r in fault_proxy.records if r.target.endswith("/r.txt")]
    assert len(reads) == 3 and all(r.status == 503 for r in reads), fault_proxy.records


def test_dead_endpoint_fails_fast_with_a_clear_error(make_cm):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cm = make_cm(endpoint_url=f"http://127.0.0.1:{port}", max_retries=2, retry_timeout=3.0, connect_timeout=1.0)
    start = time.monotonic()
    error = expect_status(503, cm.get, "")
    assert time.monotonic() - start < 15, "a dead endpoint must not hang the request"
    assert error.log_message.startswith(f"cannot reach http://127.0.0.1:{port}: "), error.log_message


def test_request_timeout_bounds_a_stalled_store(make_proxied_cm, fault_proxy, raw):
    raw.put("slow.txt", b"x")
    cm = make_proxied_cm(request_timeout=1.0, max_retries=1, retry_timeout=2.0)
    fault_proxy.add(Fault("delay", seconds=8), method="GET", times=None)
    start = time.monotonic()
    expect_status(503, cm.get, "slow.txt")
    assert time.monotonic() - start < 7, "the request timeout must cut a stalled request"


@pytest.mark.parametrize("trait,value", [("request_timeout", 0), ("connect_timeout", -1), ("retry_timeout", 0)])
def test_timeouts_must_be_positive(manager_class, manager_kwargs, trait, value):
    from traitlets import TraitError

    with pytest.raises(TraitError, match=trait):
        manager_class(**manager_kwargs, **{trait: value})


# =========================================================================== failed saves
@pytest.mark.parametrize("fault", list(FAILING_FAULTS.values()), ids=list(FAILING_FAULTS))
def test_failed_save_keeps_previous_version(make_proxied_cm, fault_proxy, raw, fault):
    raw.put("keep.txt", b"previous version")
    cm = make_proxied_cm()
    fault_proxy.add(fault, method="PUT")
    try:
        cm.save({"type": "file", "format": "text", "content": "new version"}, "keep.txt")
    except Exception:  # noqa: BLE001 (a failure is allowed; losing data is not)
        pass
    assert raw.read("keep.txt") in (b"previous version", b"new version")
    if fault.action != "drop_response":
        assert raw.read("keep.txt") == b"previous version"


@pytest.mark.parametrize("fault", list(FAILING_FAULTS.values()), ids=list(FAILING_FAULTS))
def test_failed_chunked_upload_keeps_previous_version(make_proxied_cm, fault_proxy, raw, fault):
    raw.put("big.bin", b"previous version")
    cm = make_proxied_cm()
    data = bytes(range(256)) * 4096
    # Completing the multipart upload is the POST with an uploadId.
    fault_proxy.add(fault, method="POST", target=r"uploadId=")
    for number, start in ((1, 0), (-1, len(data) // 2)):
        chunk = data[start : start + len(data) // 2]
        model = {"type": "file", "format": "base64", "chunk": number, "content": base64.b64encode(chunk).decode()}
        try:
            cm.save(model, "big.bin")
        except Exception:  # noqa: BLE001
            break
    assert fault_proxy.faults_fired(), fault_proxy.records
    assert raw.read("big.bin") in (b"previous version", data)


# =========================================================================== multi-object invariant
def at_every_position(make_proxied_cm, fault_proxy, setup, operation, fault, check):
    """Run `operation` once per request position it makes, with `fault` injected at that
    request, and `check(position, succeeded)` after each. Returns how many runs failed."""
    setup()
    fault_proxy.reset()
    operation(make_proxied_cm())
    positions = fault_proxy.count
    failures = 0
    for position in range(positions):
        setup()
        cm = make_proxied_cm()
        fault_proxy.reset()
        fault_proxy.add(fault, index=position)
        try:
            operation(cm)
            succeeded = True
        except Exception:  # noqa: BLE001 (failing is allowed; losing data is not)
            succeeded, failures = False, failures + 1
        fault_proxy.reset()
        check(position, succeeded)
    assert failures > 0, "no injected fault made the operation fail: the test injects nothing"
    return failures


# A reset is handled like a 500 once retries are off (both fail the request before the
# store acts on it), so the every-position runs use the 500 and the lost response; resets
# are covered by the retry and failed-save tests above. (Run time: about 25 s per run.)
@pytest.mark.parametrize("fault_name", ["error500", "lost_response"])
def test_tree_rename_survives_a_fault_at_every_request(make_proxied_cm, fault_proxy, raw, flavor, fault_name):
    """A rename of a 24-object tree, failed at request 0, 1, 2, ... in turn."""
    if flavor == "async" and fault_name != "lost_response":
        pytest.skip("same Rust core as the sync flavour; the async flavour runs the lost-response case only")

    def check(position, succeeded):
        now = check_invariant(raw, TREE, "tree", "moved")
        if succeeded:
            assert not any(k.startswith("tree/") for k in now), f"position {position}: sources left {sorted(now)}"
        elif not any(k.startswith("moved/") for k in now):
            # Rolled back completely: the user can simply try again.
            make_proxied_cm().rename("tree", "moved")
            check_invariant(raw, TREE, "tree", "moved")

    at_every_position(
        make_proxied_cm,
        fault_proxy,
        lambda: write_tree(raw),
        lambda cm: cm.rename("tree", "moved"),
        FAILING_FAULTS[fault_name],
        check,
    )


def test_tree_copy_survives_a_fault_at_every_request(make_proxied_cm, fault_proxy, raw, flavor):
    if flavor == "async":
        pytest.skip("same Rust core as the sync flavour (run time); rename covers the async flavour")

    def check(position, succeeded):
        now = check_invariant(raw, TREE, "tree", "copied/tree")
        assert all(now.get(k) == v for k, v in TREE.items()), f"position {position}: a source changed"
        if succeeded:
            # "copied" does not exist: the folder goes inside it (FileContentsManager).
            assert all(now.get("copied/" + k) == v for k, v in TREE.items()), f"position {position}: incomplete"
        else:
            # A failed copy rolls back what it made (the rollback itself had no fault).
            assert not any(k.startswith("copied/") for k in now), f"position {position}: {sorted(now)}"

    at_every_position(
        make_proxied_cm,
        fault_proxy,
        lambda: write_tree(raw),
        lambda cm: cm.copy("tree", "copied"),
        Fault.error("InternalError"),
        check,
    )


@pytest.mark.parametrize("fault_name", ["lost_response"])
def test_tree_delete_to_trash_survives_a_fault_at_every_request(make_proxied_cm, fault_proxy, raw, flavor, fault_name):
    if flavor == "async":
        pytest.skip("same Rust core as the sync flavour (run time); rename covers the async flavour")

    def check(position, succeeded):
        now = fast_snapshot(raw)
        trashed = {k.split("/", 2)[2]: v for k, v in now.items() if k.startswith(".Trash/")}
        for path, body in TREE.items():
            assert body in (now.get(path), trashed.get(path)), f"position {position}: {path} lost"
        if succeeded:
            assert not any(k.startswith("tree/") for k in now), f"position {position}: {sorted(now)}"

    at_every_position(
        make_proxied_cm,
        fault_proxy,
        lambda: write_tree(raw),
        lambda cm: cm.delete("tree"),
        FAILING_FAULTS[fault_name],
        check,
    )


def test_checkpoint_restore_survives_a_fault_at_every_request(make_proxied_cm, fault_proxy, raw):
    originals = {"n.txt": b"edited", ".ipynb_checkpoints/n-checkpoint.txt": b"checkpointed"}

    def check(position, succeeded):
        assert raw.read("n.txt") == (b"checkpointed" if succeeded else raw.read("n.txt"))
        assert raw.read("n.txt") in (b"checkpointed", b"edited")
        assert raw.read(".ipynb_checkpoints/n-checkpoint.txt") == b"checkpointed"

    at_every_position(
        make_proxied_cm,
        fault_proxy,
        lambda: write_tree(raw, originals),
        lambda cm: cm.restore_checkpoint("checkpoint", "n.txt"),
        Fault("drop_response"),
        check,
    )


def test_rename_with_checkpoints_survives_a_fault_at_every_request(make_proxied_cm, fault_proxy, raw):
    originals = {"d/nb.ipynb": b'{"nbformat": 4}\n', "d/.ipynb_checkpoints/nb-checkpoint.ipynb": b'{"old": 1}\n'}
    renamed = {
        "d/nb.ipynb": "d/nb2.ipynb",
        "d/.ipynb_checkpoints/nb-checkpoint.ipynb": "d/.ipynb_checkpoints/nb2-checkpoint.ipynb",
    }

    def check(position, succeeded):
        now = fast_snapshot(raw)
        for path, body in originals.items():
            assert body in (now.get(path), now.get(renamed[path])), f"position {position}: {path} lost: {now}"
        if succeeded:
            assert set(now) == set(renamed.values()), f"position {position}: {sorted(now)}"

    at_every_position(
        make_proxied_cm,
        fault_proxy,
        lambda: write_tree(raw, originals),
        lambda cm: cm.rename("d/nb.ipynb", "d/nb2.ipynb"),
        Fault.error("InternalError"),
        check,
    )


def test_source_changed_midway_is_a_conflict(raw, fault_proxy, make_proxied_cm):
    """A save lands in the tree while it is being renamed: 409, and nothing is lost."""
    write_tree(raw)
    cm = make_proxied_cm()
    edited = b"saved by someone else during the rename"

    # When the first object is copied, another client rewrites a file of the tree.
    fault_proxy.add(Fault("call", callback=lambda: raw.put("tree/file03.txt", edited)), method="PUT", target=r"/moved/")
    expect_status(409, cm.rename, "tree", "moved")
    now = snapshot(raw)
    assert now["tree/file03.txt"] == edited
    expected = dict(TREE, **{"tree/file03.txt": edited})
    assert {k: v for k, v in now.items() if k.startswith("tree/")} == expected
    assert not any(k.startswith("moved/") for k in now), sorted(now)
