"""Two Jupyter servers (or tabs) on the same bucket: creators never overwrite each other.

Targets of ``new``, ``new_untitled``, ``copy`` and ``rename`` are claimed with create-only
writes (If-None-Match: *), so the loser of a race gets a 409 or the next free name.
"""

from __future__ import annotations

import asyncio
import inspect
from concurrent.futures import ThreadPoolExecutor

import pytest

from support.fault_proxy import Fault
from support.reliability_fixtures import expect_status, snapshot


def _taken_meanwhile(cm, raw, body=b"written by the other server"):
    """Make the naming of a new file or copy lose a race: another server stores the name
    that the folder's listing showed free (`_free_name`, behind `increment_filename`)."""
    original = cm.raw._free_name
    taken = []

    def record(path, name):
        if not taken:
            raw.put(f"{path}/{name}".strip("/"), body)
            taken.append(f"{path}/{name}".strip("/"))

    if inspect.iscoroutinefunction(original):

        async def free_name(filename, path, insert, file):
            name, listed = await original(filename, path, insert, file)
            record(path, name)
            return name, listed

    else:

        def free_name(filename, path, insert, file):
            name, listed = original(filename, path, insert, file)
            record(path, name)
            return name, listed

    cm.raw._free_name = free_name
    return taken


def test_new_on_an_existing_path_is_409(make_cm, raw):
    first, second = make_cm(), make_cm()
    first.new(None, "same.txt")
    raw.put("same.txt", b"first server's work")
    expect_status(409, second.new, None, "same.txt")
    expect_status(409, second.new, {"type": "directory"}, "same.txt")
    assert raw.read("same.txt") == b"first server's work"


def test_new_untitled_that_loses_a_race_takes_the_next_name(cm, raw):
    taken = _taken_meanwhile(cm, raw)
    model = cm.new_untitled(type="notebook")
    assert taken == ["Untitled.ipynb"]
    assert model["path"] == "Untitled1.ipynb"
    assert raw.read("Untitled.ipynb") == b"written by the other server"
    assert b'"nbformat"' in raw.read("Untitled1.ipynb")


def test_new_untitled_folder_that_loses_a_race_takes_the_next_name(cm, raw):
    taken = _taken_meanwhile(cm, raw)
    model = cm.new_untitled(type="directory")
    assert taken == ["Untitled Folder"]
    assert model["path"] == "Untitled Folder 1"
    assert raw.read("Untitled Folder") == b"written by the other server"


def test_copy_that_loses_a_race_takes_the_next_name(cm, raw):
    raw.put("data.csv", b"a,b\n")
    taken = _taken_meanwhile(cm, raw)
    model = cm.copy("data.csv")
    assert taken == ["data-Copy1.csv"]
    assert model["path"] == "data-Copy2.csv"
    assert raw.read("data-Copy1.csv") == b"written by the other server"
    assert raw.read("data-Copy2.csv") == b"a,b\n"


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_concurrent_renames_onto_one_target(make_cm, make_proxied_cm, fault_proxy, raw, kind):
    """Server A renames a -> target; while it claims the target, server B renames b ->
    target. Exactly one wins; both originals survive byte-identical."""
    if kind == "file":
        raw.put("a.txt", b"from a")
        raw.put("b.txt", b"from b")
        a_src, b_src, target, claim = "a.txt", "b.txt", "target.txt", r"/target\.txt$"
    else:
        raw.put("a/x.txt", b"from a")
        raw.put("b/x.txt", b"from b")
        a_src, b_src, target, claim = "a", "b", "target", r"/target/\.s3keep$"
    server_a, server_b = make_proxied_cm(), make_cm()
    # Server B is driven through its storage core: the callback runs on the proxy's thread.
    fault_proxy.add(
        Fault("call", callback=lambda: server_b.store.rename(b_src, target)),
        method="PUT",
        target=claim,
    )
    expect_status(409, server_a.rename, a_src, target)
    assert fault_proxy.faults_fired()
    now = snapshot(raw)
    if kind == "file":
        assert now == {"a.txt": b"from a", "target.txt": b"from b"}
    else:
        assert now == {
            "a/x.txt": b"from a",
            "target/x.txt": b"from b",
            "target/.s3keep": b"",
        }


def test_many_concurrent_creators_get_distinct_names(make_proxied_cm, fault_proxy, raw, flavor):
    # Through the proxy, which makes moto's create-only PUTs atomic, as S3's are.
    fault_proxy.atomic_conditional_writes = True
    managers = [make_proxied_cm(max_retries=3), make_proxied_cm(max_retries=3)]
    count = 8
    if flavor == "async":

        async def create_all():
            return await asyncio.gather(
                *(managers[i % 2].raw.new_untitled(type="file", ext=".txt") for i in range(count))
            )

        models = managers[0].run(create_all())
    else:
        with ThreadPoolExecutor(count) as pool:
            models = list(
                pool.map(
                    lambda i: managers[i % 2].new_untitled(type="file", ext=".txt"),
                    range(count),
                )
            )
    paths = sorted(m["path"] for m in models)
    assert len(set(paths)) == count, paths
    assert raw.keys() == set(paths)


def test_resaving_skips_the_folder_check_but_never_covers_a_folder(make_proxied_cm, fault_proxy, raw):
    """A file this server saved last is saved again with a PUT conditional on the version
    it wrote (no LIST for a folder of that name: the file existed, so the PUT cannot put
    a file over a folder). When another server replaced the file with a folder meanwhile,
    the condition fails and the folder check refuses the save."""
    cm = make_proxied_cm()
    model = {"type": "file", "format": "text", "content": "one"}
    cm.save(model, "x.txt")
    fault_proxy.reset()
    cm.save(dict(model, content="two"), "x.txt")
    assert [r.method for r in fault_proxy.records] == ["PUT", "HEAD"], fault_proxy.records
    assert raw.read("x.txt") == b"two"

    raw.put("x.txt", b"another server's version")  # still overwritten: last writer wins
    cm.save(dict(model, content="three"), "x.txt")
    assert raw.read("x.txt") == b"three"

    cm.store.delete("x.txt", False)  # bypasses the manager's bookkeeping, as another server would
    raw.put("x.txt/inside.txt", b"a folder now")
    expect_status(400, cm.save, dict(model, content="four"), "x.txt")
    assert raw.keys() == {"x.txt/inside.txt"}
