"""JupyterLab in Chromium on a manager with ``mounts``: the S3 bucket at the root, a GCS
mount and a read-only GCS mount. Browsing into each, opening a notebook of the read-only
one (JupyterLab marks it read-only), and dragging a file from one mount to another."""

from __future__ import annotations

import uuid

import nbformat
import pytest

from support.backend_fixtures import RawGcs
from support.browser_fixtures import Lab, wait_ready
from test_browser import command, listing_item, refresh_browser, wait_until

pytestmark = [pytest.mark.timeout(240), pytest.mark.browser, pytest.mark.gcs]

NOTEBOOK = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('lesson')")]))


@pytest.fixture(scope="module")
def gcs_views(gcs_settings):
    prefix = f"browser-{uuid.uuid4().hex}"
    views = {"data": RawGcs(gcs_settings, prefix), "course": RawGcs(gcs_settings, f"{prefix}-ro")}
    views["data"].put("in-data.txt", b"data file")
    views["course"].put("lesson.ipynb", NOTEBOOK)
    yield prefix, views
    for view in views.values():
        view.delete_all()


@pytest.fixture(scope="module")
def mounts_lab(s3_settings, gcs_settings, gcs_views, lab_prefix, tmp_path_factory):
    prefix, _ = gcs_views
    gcs = {"endpoint_url": gcs_settings.endpoint_url, "token": "anon"}
    mounts = {
        "data": {"url": f"gs://{gcs_settings.bucket}/{prefix}", **gcs},
        "course": {"url": f"gs://{gcs_settings.bucket}/{prefix}-ro", "read_only": True, **gcs},
    }
    server = Lab(s3_settings, lab_prefix, tmp_path_factory.mktemp("mounts-lab"), traits={"mounts": repr(mounts)})
    yield server
    server.stop()


@pytest.fixture
def lab_page(browser_context, mounts_lab):
    tab = browser_context.new_page()
    tab.goto(f"{mounts_lab.url}/lab?token={mounts_lab.token}&reset")
    wait_ready(tab)
    yield tab
    tab.close()


def open_folder(page, name: str) -> None:
    listing_item(page, name).dblclick()
    page.locator(".jp-BreadCrumbs").get_by_text(name).wait_for()


def test_browse_into_each_mount(lab_page, lab_raw):
    lab_raw.put("at-root.txt", b"root")
    page = lab_page
    refresh_browser(page)
    for name in ("at-root.txt", "data", "course"):
        listing_item(page, name).wait_for()
    open_folder(page, "data")
    listing_item(page, "in-data.txt").wait_for()
    command(page, "filebrowser:go-to-path", {"path": "/course"})
    listing_item(page, "lesson.ipynb").wait_for()


def test_a_notebook_of_a_read_only_mount_opens_read_only(lab_page, gcs_views):
    page = lab_page
    command(page, "docmanager:open", {"path": "course/lesson.ipynb"})
    panel = page.locator(".jp-NotebookPanel:visible")
    panel.locator(".jp-Cell").first.wait_for()
    assert "print('lesson')" in panel.locator(".jp-Cell").first.inner_text()
    # JupyterLab's own marker of a document it cannot save (the model says writable: false)
    panel.locator('.jp-Toolbar-item[data-jp-item-name="read-only-indicator"]').wait_for()
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.context.contentsModel.writable") is False
    assert gcs_views[1]["course"].keys() == {"lesson.ipynb"}


def test_drag_a_file_from_one_mount_to_another(lab_page, lab_raw, gcs_views):
    page = lab_page
    command(page, "filebrowser:go-to-path", {"path": "/data"})
    item = listing_item(page, "in-data.txt")
    item.wait_for()
    # JupyterLab's file browser offers the parent folder ("..") as a drop target only in
    # its breadcrumbs: drop on the root crumb (the home icon).
    item.drag_to(page.locator(".jp-BreadCrumbs-home"))
    wait_until(lambda: lab_raw.exists("in-data.txt"), "the dragged file in the S3 bucket")
    assert lab_raw.read("in-data.txt") == b"data file"
    wait_until(lambda: not gcs_views[1]["data"].exists("in-data.txt"), "the file gone from the GCS mount")
