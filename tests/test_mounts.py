"""``mounts``: S3, GCS and Azure in one tree, through the REST API of a real jupyter_server.

The server runs ``ObjectStoreContentsManager`` (sync and async) with:

* ``""``: S3 (moto), ``<prefix>/home``;
* ``shared``: the same S3 bucket, ``<prefix>/shared`` (the same store: server-side copies);
* ``gcs``: fake-gcs-server, ``<prefix>``;
* ``azure``: Azurite, ``<prefix>``;
* ``ro``: fake-gcs-server, ``<prefix>-ro``, read-only.

Every write is checked in the store it must land in, with that store's own client.
"""

from __future__ import annotations

import json
import uuid

import nbformat
import pytest
from traitlets.config import Config

from support.backend_fixtures import RawAzure, RawGcs
from support.fault_proxy import Fault
from support.rest_fixtures import body, expect_status, put_json
from support.s3_fixtures import RawBucket

pytestmark = [pytest.mark.gcs, pytest.mark.azure]

NOTEBOOK = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]))


@pytest.fixture
def mount_prefix():
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture
def s3_endpoint(s3_settings):
    """The S3 endpoint the mounts use (the fault test puts the fault proxy there)."""
    return s3_settings.endpoint_url


@pytest.fixture
def stores(request, s3_settings, s3_client, gcs_settings, azure_settings, mount_prefix):
    """Raw views of every mount, by mount name; everything is deleted afterwards."""
    views = {
        "": RawBucket(s3_client, s3_settings.bucket, f"{mount_prefix}/home"),
        "shared": RawBucket(s3_client, s3_settings.bucket, f"{mount_prefix}/shared"),
        "gcs": RawGcs(gcs_settings, mount_prefix),
        "azure": RawAzure(azure_settings, mount_prefix),
        "ro": RawGcs(gcs_settings, f"{mount_prefix}-ro"),
    }
    views["ro"].put("readme.txt", b"read me")
    views["ro"].put("lesson.ipynb", NOTEBOOK)
    yield views
    for view in views.values():
        view.delete_all()


@pytest.fixture
def mounts(s3_settings, s3_endpoint, gcs_settings, azure_settings, mount_prefix):
    s3 = {
        "endpoint_url": s3_endpoint,
        "access_key_id": s3_settings.access_key_id,
        "secret_access_key": s3_settings.secret_access_key,
        "region_name": s3_settings.region_name,
        "max_retries": 0,
    }
    gcs = {"endpoint_url": gcs_settings.endpoint_url, "token": "anon"}
    azure = {
        "account": azure_settings.account,
        "account_key": azure_settings.key,
        "endpoint_url": azure_settings.endpoint_url,
    }
    return {
        "": {"url": f"s3://{s3_settings.bucket}/{mount_prefix}/home", **s3},
        "shared": {"url": f"s3://{s3_settings.bucket}", "prefix": f"{mount_prefix}/shared", **s3},
        "gcs": {"url": f"gs://{gcs_settings.bucket}/{mount_prefix}", **gcs},
        "azure": {"url": f"az://{azure_settings.container}/{mount_prefix}", **azure},
        "ro": {"url": f"gs://{gcs_settings.bucket}/{mount_prefix}-ro", "read_only": True, **gcs},
    }


@pytest.fixture(params=["sync", "async"])
def mounted_class(request):
    from s3contents_rs import AsyncObjectStoreContentsManager, ObjectStoreContentsManager

    return {"sync": ObjectStoreContentsManager, "async": AsyncObjectStoreContentsManager}[request.param]


@pytest.fixture
def jp_server_config(mounted_class, mounts, stores):
    return Config(
        {
            "ServerApp": {
                "contents_manager_class": mounted_class,
                "jpserver_extensions": {"jupyter_server_terminals": False, "s3contents_rs": True},
            },
            mounted_class.__name__: {"mounts": mounts},
        }
    )


def first_cell(data: bytes) -> str:
    source = json.loads(data)["cells"][0]["source"]
    return "".join(source) if isinstance(source, list) else source


def get(fetch, path, **params):
    return body(fetch("api", "contents", path, params=params or None))


def put_text(fetch, path, text):
    return body(put_json(fetch, path, {"type": "file", "format": "text", "content": text}))


def put_notebook(fetch, path):
    return body(put_json(fetch, path, {"type": "notebook", "format": "json", "content": json.loads(NOTEBOOK)}))


WRITABLE = ["", "shared", "gcs", "azure"]


def test_root_lists_the_root_store_and_every_mount(fetch, stores):
    put_text(fetch, "home.txt", "at home")
    root = get(fetch, "")
    listed = {c["name"]: c for c in root["content"]}
    assert set(listed) == {"home.txt", "shared", "gcs", "azure", "ro"}
    for name in ("shared", "gcs", "azure", "ro"):
        assert listed[name]["type"] == "directory"
        assert listed[name]["path"] == name
        assert listed[name]["last_modified"] >= "2000"
    assert listed["ro"]["writable"] is False
    assert listed["gcs"]["writable"] is True and root["writable"] is True
    assert stores[""].read("home.txt") == b"at home"


@pytest.mark.parametrize("mount", WRITABLE)
def test_save_and_get_in_each_mount(fetch, stores, mount):
    where = f"{mount}/" if mount else ""
    saved = put_text(fetch, f"{where}dir/a.txt", "hello " + mount)
    assert saved["path"] == f"{where}dir/a.txt"
    put_notebook(fetch, f"{where}nb.ipynb")
    assert stores[mount].read("dir/a.txt") == f"hello {mount}".encode()
    assert first_cell(stores[mount].read("nb.ipynb")) == "1 + 1"
    assert get(fetch, f"{where}dir/a.txt")["content"] == f"hello {mount}"
    nb = get(fetch, f"{where}nb.ipynb")
    assert nb["type"] == "notebook" and nb["path"] == f"{where}nb.ipynb" and nb["writable"] is True
    listed = {c["name"]: c for c in get(fetch, mount)["content"]}
    assert {"dir", "nb.ipynb"} <= set(listed) and listed["nb.ipynb"]["path"] == f"{where}nb.ipynb"
    # new untitled file and folder, then /files/ streaming from that store
    created = body(fetch("api", "contents", mount, method="POST", body=json.dumps({"type": "file", "ext": ".txt"})))
    assert created["path"] == f"{where}untitled.txt"
    assert stores[mount].exists("untitled.txt")
    assert fetch("files", f"{where}dir/a.txt").body == f"hello {mount}".encode()


@pytest.mark.parametrize("mount", ["gcs", "azure", "shared"])
def test_checkpoints_in_a_mount(fetch, stores, mount):
    put_notebook(fetch, f"{mount}/nb.ipynb")
    checkpoint = body(fetch("api", "contents", f"{mount}/nb.ipynb", "checkpoints", method="POST", body=b""))
    assert stores[mount].exists(".ipynb_checkpoints/nb-checkpoint.ipynb")
    put_text(fetch, f"{mount}/nb.ipynb", "not a notebook any more")
    fetch("api", "contents", f"{mount}/nb.ipynb", "checkpoints", checkpoint["id"], method="POST", body=b"")
    assert first_cell(stores[mount].read("nb.ipynb")) == "1 + 1"
    listed = body(fetch("api", "contents", f"{mount}/nb.ipynb", "checkpoints"))
    assert [c["id"] for c in listed] == [checkpoint["id"]]


def copy_from(fetch, source, target_dir):
    return body(fetch("api", "contents", target_dir, method="POST", body=json.dumps({"copy_from": source})))


def rename(fetch, old, new):
    return body(fetch("api", "contents", old, method="PATCH", body=json.dumps({"path": new})))


@pytest.mark.parametrize(("source", "target"), [("", "gcs"), ("gcs", "azure"), ("azure", ""), ("", "shared")])
def test_copy_a_file_and_a_folder_between_mounts(fetch, stores, source, target):
    src = f"{source}/" if source else ""
    dst = f"{target}/" if target else ""
    put_text(fetch, f"{src}one.txt", "one")
    put_notebook(fetch, f"{src}folder/nb.ipynb")
    put_text(fetch, f"{src}folder/sub/two.txt", "two")
    fetch("api", "contents", f"{src}folder/empty", method="PUT", body=json.dumps({"type": "directory"}))

    copied = copy_from(fetch, f"{src}one.txt", target)
    assert copied["path"] == f"{dst}one.txt" and copied["type"] == "file"
    assert stores[target].read("one.txt") == b"one"
    copied = copy_from(fetch, f"{src}folder", target)
    assert copied["path"] == f"{dst}folder" and copied["type"] == "directory"
    assert stores[target].read("folder/sub/two.txt") == b"two"
    assert stores[target].read("folder/nb.ipynb") == stores[source].read("folder/nb.ipynb")
    assert {c["name"] for c in get(fetch, f"{dst}folder")["content"]} == {"nb.ipynb", "sub", "empty"}
    # the source is untouched; a second copy gets the next free name
    assert stores[source].read("one.txt") == b"one"
    assert copy_from(fetch, f"{src}one.txt", target)["path"] == f"{dst}one-Copy1.txt"


@pytest.mark.parametrize(("source", "target"), [("gcs", "azure"), ("azure", ""), ("", "gcs"), ("shared", "")])
def test_rename_a_file_and_a_folder_between_mounts(fetch, stores, source, target):
    src = f"{source}/" if source else ""
    dst = f"{target}/" if target else ""
    put_notebook(fetch, f"{src}nb.ipynb")  # a saved notebook has its checkpoint
    put_text(fetch, f"{src}folder/a.txt", "a")
    put_notebook(fetch, f"{src}folder/deep/nb2.ipynb")
    before = stores[source].read("nb.ipynb")

    moved = rename(fetch, f"{src}nb.ipynb", f"{dst}moved.ipynb")
    assert moved["path"] == f"{dst}moved.ipynb"
    assert stores[target].read("moved.ipynb") == before
    assert stores[target].exists(".ipynb_checkpoints/moved-checkpoint.ipynb")  # its checkpoint moved with it
    assert not stores[source].exists("nb.ipynb")
    assert not stores[source].exists(".ipynb_checkpoints/nb-checkpoint.ipynb")

    rename(fetch, f"{src}folder", f"{dst}folder2")
    assert stores[target].read("folder2/a.txt") == b"a"
    assert stores[target].exists("folder2/deep/nb2.ipynb")
    assert stores[target].exists("folder2/deep/.ipynb_checkpoints/nb2-checkpoint.ipynb")
    assert not any(k.startswith("folder/") for k in stores[source].keys())
    expect_status(404, fetch, "api", "contents", f"{src}folder")
    assert get(fetch, f"{dst}folder2/deep/nb2.ipynb")["type"] == "notebook"


def test_rename_onto_an_existing_path_of_another_mount_is_refused(fetch, stores):
    put_text(fetch, "gcs/a.txt", "gcs")
    put_text(fetch, "azure/a.txt", "azure")
    expect_status(409, fetch, "api", "contents", "gcs/a.txt", method="PATCH", body=json.dumps({"path": "azure/a.txt"}))
    assert stores["gcs"].read("a.txt") == b"gcs" and stores["azure"].read("a.txt") == b"azure"


def test_a_read_only_mount_serves_and_refuses_writes(fetch, stores):
    listed = get(fetch, "ro")
    assert listed["writable"] is False
    assert {c["name"] for c in listed["content"]} == {"readme.txt", "lesson.ipynb"}
    assert all(c["writable"] is False for c in listed["content"])
    nb = get(fetch, "ro/lesson.ipynb")
    assert nb["writable"] is False and nb["content"]["cells"][0]["source"] == "1 + 1"
    assert fetch("files", "ro/readme.txt").body == b"read me"
    expect_status(403, put_json, fetch, "ro/new.txt", {"type": "file", "format": "text", "content": "x"})
    expect_status(403, fetch, "api", "contents", "ro", method="POST", body=json.dumps({"type": "notebook"}))
    expect_status(403, fetch, "api", "contents", "ro/readme.txt", method="DELETE")
    expect_status(403, fetch, "api", "contents", "ro/readme.txt", method="PATCH", body=json.dumps({"path": "x.txt"}))
    expect_status(403, fetch, "api", "contents", "ro", method="POST", body=json.dumps({"copy_from": "x.txt"}))
    # copying out of it works
    assert copy_from(fetch, "ro/readme.txt", "gcs")["path"] == "gcs/readme.txt"
    assert stores["gcs"].read("readme.txt") == b"read me"
    assert stores["ro"].keys() == {"readme.txt", "lesson.ipynb"}


@pytest.mark.parametrize("mount", ["gcs", "ro", "shared"])
def test_mount_points_cannot_be_renamed_or_deleted(fetch, stores, mount):
    error = expect_status(400, fetch, "api", "contents", mount, method="PATCH", body=json.dumps({"path": "other"}))
    assert b"mount point" in error.response.body
    error = expect_status(400, fetch, "api", "contents", mount, method="DELETE")
    assert b"mount point" in error.response.body
    put_text(fetch, "x.txt", "x")
    expect_status(400, fetch, "api", "contents", "x.txt", method="PATCH", body=json.dumps({"path": mount}))
    assert get(fetch, mount)["type"] == "directory"


def test_trash_is_per_mount(fetch, stores):
    put_text(fetch, "azure/gone.txt", "bye")
    fetch("api", "contents", "azure/gone.txt", method="DELETE")
    assert not stores["azure"].exists("gone.txt")
    assert any(k.startswith(".Trash/") and k.endswith("/gone.txt") for k in stores["azure"].keys())
    assert ".Trash" not in {c["name"] for c in get(fetch, "azure")["content"]}


def test_hidden_files_stay_hidden_in_mounts(fetch, stores):
    stores["gcs"].put(".secret", b"s")
    assert ".secret" not in {c["name"] for c in get(fetch, "gcs")["content"]}
    expect_status(404, fetch, "api", "contents", "gcs/.secret")
    expect_status(404, fetch, "files", "gcs/.secret")


class TestFailureInTheMiddleOfAMove:
    """The S3 mounts talk through the fault proxy: a PUT of the second file of a folder
    moved from GCS to S3 fails. The source stays whole; the retry finishes the move."""

    @pytest.fixture
    def s3_endpoint(self, fault_proxy):
        return fault_proxy.url

    def test_a_failed_folder_move_leaves_the_source_and_a_retry_finishes(self, fetch, stores, fault_proxy):
        files = {f"folder/f{i}.txt": f"content {i}".encode() for i in range(4)}
        for path, data in files.items():
            stores["gcs"].put(path, data)
        fault_proxy.add(Fault.error("InternalError"), method="PUT", target=r"/folder/f2\.txt")
        expect_status(503, fetch, "api", "contents", "gcs/folder", method="PATCH", body=json.dumps({"path": "folder"}))
        assert fault_proxy.faults_fired()
        for path, data in files.items():  # the source is intact
            assert stores["gcs"].read(path) == data
        assert not stores[""].exists("folder/f2.txt")

        rename(fetch, "gcs/folder", "folder")  # the retry finishes
        for path, data in files.items():
            assert stores[""].read(path) == data
            assert not stores["gcs"].exists(path)
        assert {c["name"] for c in get(fetch, "folder")["content"]} == {f"f{i}.txt" for i in range(4)}
