"""JupyterLab in a real browser (headless Debian Chromium + Playwright) on the async
manager over the test bucket: what a user does, checked in the bucket.

Waits are on selectors and on the bucket, never fixed sleeps.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time

import pytest

from support.browser_fixtures import ARTIFACTS, wait_ready

pytestmark = [pytest.mark.timeout(240), pytest.mark.browser]

KERNEL_TIMEOUT = 90_000  # ms: the first kernel start on a busy CI machine is slow


def wait_until(condition, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def stored_notebook(raw, path: str):
    """The notebook at `path` once it is there and complete (a rename first claims its
    target with an empty placeholder, so an early read can see that)."""
    if not raw.exists(path):
        return None
    try:
        return json.loads(raw.read(path))
    except ValueError:
        return None


def cell_sources(nb) -> list[str]:
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in nb["cells"]]


def command(page, name: str, args: dict | None = None, wait: bool = True):
    """Run a JupyterLab command, as its menu entry does; `wait=False` for commands that
    open a dialog (their promise settles only once the dialog is answered)."""
    script = (
        "([n, a]) => window.jupyterapp.commands.execute(n, a)"
        if wait
        else "([n, a]) => { window.jupyterapp.commands.execute(n, a); }"
    )
    return page.evaluate(script, [name, args or {}])


def current_panel(page):
    """The notebook panel JupyterLab shows in the main area."""
    widget_id = page.evaluate("() => window.jupyterapp.shell.currentWidget.id")
    panel = page.locator(f"[id='{widget_id}']")
    panel.locator(".jp-Cell").first.wait_for()
    return panel


def listing_item(page, name: str):
    return page.locator(
        ".jp-DirListing-item", has=page.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(name)}$"))
    )


def refresh_browser(page) -> None:
    page.locator('#filebrowser jp-button[data-command="filebrowser:refresh"]').click()


def open_notebook(page, path: str):
    command(page, "docmanager:open", {"path": path})
    return current_panel(page)


def type_in_cell(page, panel, index: int, text: str) -> None:
    editor = panel.locator(".jp-Cell").nth(index).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.type(text)


def save(page, panel) -> None:
    """Ctrl+S, then wait until the tab is no longer marked dirty (the save finished)."""
    page.keyboard.press("Control+s")
    page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current.jp-mod-dirty").wait_for(state="detached")


def make_notebook(raw, path: str, sources: list[str]) -> None:
    cells = [
        {"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [], "source": s}
        for i, s in enumerate(sources)
    ]
    nb = {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    raw.put(path, json.dumps(nb))


def test_create_type_run_save_reload(page, lab_raw):
    command(page, "notebook:create-new", {"path": "", "kernelName": "python3"})
    panel = current_panel(page)
    name = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.path")
    assert name.endswith(".ipynb"), name
    type_in_cell(page, panel, 0, "print(6 * 7)")
    page.keyboard.press("Shift+Enter")
    panel.locator(".jp-OutputArea-output", has_text="42").first.wait_for(timeout=KERNEL_TIMEOUT)
    page.keyboard.press("Control+s")
    # JupyterLab offers to rename an untitled notebook on its first save.
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input[type=text]").fill("first.ipynb")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current.jp-mod-dirty").wait_for(state="detached")
    name = "first.ipynb"

    def saved_and_renamed():
        # The rename (copy, then delete of the old name) and the save with the outputs
        # reach the bucket in their own time: wait for the end state, not a step of it.
        nb = stored_notebook(lab_raw, name)
        if nb is None or lab_raw.exists("Untitled.ipynb"):
            return None
        outputs = ["".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", [])]
        return nb if any("42" in text for text in outputs) else None

    nb = wait_until(saved_and_renamed, f"{name} saved with its output, and no Untitled.ipynb left")
    assert "print(6 * 7)" in cell_sources(nb)
    # Reload without the fixture's `reset` flag: a workspace reset that lands after the
    # open below would close the notebook again.
    page.goto(page.url.replace("&reset", "").replace("?reset&", "?").replace("?reset", ""))
    wait_ready(page)
    # Open it once JupyterLab has restored its layout (a restore that lands later can
    # activate another tab), and read the cell from the model loaded from the bucket.
    source = page.evaluate(
        """async (n) => { const app = window.jupyterapp;
                         await app.restored;
                         const w = await app.commands.execute('docmanager:open', {path: n});
                         await w.context.ready;
                         app.shell.activateById(w.id);
                         return w.content.model.cells.get(0).sharedModel.getSource(); }""",
        name,
    )  # fmt: skip
    assert "print(6 * 7)" in source
    page.locator(".jp-Cell:visible .cm-content", has_text="print(6 * 7)").first.wait_for(timeout=KERNEL_TIMEOUT)
    page.locator(".jp-OutputArea-output:visible", has_text="42").first.wait_for(timeout=KERNEL_TIMEOUT)


def test_rename_in_file_browser(page, lab_raw):
    lab_raw.put("rename-me.txt", b"some text\n")
    refresh_browser(page)
    listing_item(page, "rename-me.txt").click()
    page.keyboard.press("F2")
    editor = page.locator(".jp-DirListing-editor")
    editor.fill("renamed.txt")
    editor.press("Enter")
    listing_item(page, "renamed.txt").wait_for()
    wait_until(
        lambda: lab_raw.exists("renamed.txt") and not lab_raw.exists("rename-me.txt"), "the rename in the bucket"
    )
    assert lab_raw.read("renamed.txt") == b"some text\n"


def test_new_folder_and_move_a_notebook_into_it(page, lab_raw):
    make_notebook(lab_raw, "to-move.ipynb", ["x = 1"])
    refresh_browser(page)
    page.locator('#filebrowser jp-button[data-command="filebrowser:create-new-directory"]').click()
    editor = page.locator(".jp-DirListing-editor")
    editor.fill("box")
    editor.press("Enter")
    listing_item(page, "box").wait_for()
    wait_until(lambda: any(k.startswith("box/") for k in lab_raw.keys()), "the folder in the bucket")
    listing_item(page, "to-move.ipynb").click(button="right")
    page.locator(".lm-Menu-item", has_text=re.compile(r"^Cut")).click()
    listing_item(page, "box").dblclick()
    page.locator("#filebrowser .jp-BreadCrumbs", has_text="box").wait_for()
    command(page, "filebrowser:paste")  # Edit > Paste (the empty listing has no item to right-click)
    listing_item(page, "to-move.ipynb").wait_for()
    wait_until(
        lambda: lab_raw.exists("box/to-move.ipynb") and not lab_raw.exists("to-move.ipynb"), "the move in the bucket"
    )
    assert cell_sources(json.loads(lab_raw.read("box/to-move.ipynb"))) == ["x = 1"]
    page.locator("#filebrowser .jp-BreadCrumbs-home").click()
    listing_item(page, "box").wait_for()


def test_upload_20mb_chunked(page, lab_raw, tmp_path):
    data = os.urandom(20 * 1024 * 1024)
    path = tmp_path / "big-upload.bin"
    path.write_bytes(data)
    with page.expect_file_chooser() as chooser:
        page.locator('#filebrowser [data-jp-item-name="uploader"] jp-button').click()
    chooser.value.set_files(str(path))
    page.locator(".jp-Dialog", has_text="Large file size warning").locator(".jp-Dialog-button.jp-mod-accept").click()
    listing_item(page, "big-upload.bin").wait_for(timeout=120_000)
    wait_until(
        lambda: lab_raw.exists("big-upload.bin") and lab_raw.head("big-upload.bin")["ContentLength"] == len(data),
        "the 20 MB upload in the bucket",
        timeout=120,
    )
    stored = lab_raw.read("big-upload.bin")
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(data).hexdigest()
    # JupyterLab sends files over 15 MB in 1 MB chunks; ours streams them into a multipart
    # upload, whose ETag has the "-<parts>" suffix a single PUT never has.
    assert re.fullmatch(r'"[0-9a-f]{32}-\d+"', lab_raw.head("big-upload.bin")["ETag"])


def test_download_a_file(page, lab_raw):
    body = "downloaded from the bucket\n" * 100
    lab_raw.put("download-me.txt", body)
    refresh_browser(page)
    listing_item(page, "download-me.txt").click(button="right")
    with page.expect_download() as download:
        page.locator(".lm-Menu-item", has_text=re.compile(r"^Download$")).click()
    with open(download.value.path(), "rb") as f:
        assert f.read() == body.encode()


def test_download_a_file_through_the_redirect(browser_context, redirect_lab, lab_raw, s3_settings):
    """files_redirect on: the browser is sent from /files to a presigned URL of the bucket
    and downloads the file's bytes from there."""
    body = bytes(range(256)) * 4000 + "binary and text ✓\n".encode()
    lab_raw.put("redirected.bin", body)
    page = browser_context.new_page()
    try:
        page.goto(f"{redirect_lab.url}/lab?token={redirect_lab.token}&reset")
        wait_ready(page)
        refresh_browser(page)
        listing_item(page, "redirected.bin").click(button="right")
        with page.expect_download() as download:
            page.locator(".lm-Menu-item", has_text=re.compile(r"^Download$")).click()
        with open(download.value.path(), "rb") as f:
            assert f.read() == body
        assert download.value.suggested_filename == "redirected.bin"
        # The server answered /files with the redirect (jupyter_server logs 3xx at INFO),
        # and the browser fetched the bytes from the bucket's presigned URL.
        log = redirect_lab.log_path.read_text(errors="replace")
        assert re.search(r"307 GET /files/redirected\.bin\?", log), log[-3000:]
        assert download.value.url.startswith(f"{s3_settings.endpoint_url}/"), download.value.url
        assert "X-Amz-Signature=" in download.value.url, download.value.url
    finally:
        page.close()


def test_download_a_text_file_through_the_redirect(browser_context, redirect_lab, lab_raw):
    """JupyterLab's Download relies on <a download>, which Chromium ignores once the redirect
    leaves the Jupyter origin; our extension asks for ?download=1, so the presigned URL says
    "attachment" and the text file is saved, not shown in the tab."""
    lab_raw.put("redirected.txt", "text through the redirect\n" * 10)
    page = browser_context.new_page()
    try:
        page.goto(f"{redirect_lab.url}/lab?token={redirect_lab.token}&reset")
        wait_ready(page)
        refresh_browser(page)
        listing_item(page, "redirected.txt").click(button="right")
        with page.expect_download(timeout=10_000) as download:
            page.locator(".lm-Menu-item", has_text=re.compile(r"^Download$")).click()
        with open(download.value.path(), "rb") as f:
            assert f.read() == b"text through the redirect\n" * 10
    finally:
        page.close()


def test_revert_to_checkpoint(page, lab_raw):
    make_notebook(lab_raw, "revert.ipynb", ["original = True"])
    panel = open_notebook(page, "revert.ipynb")
    type_in_cell(page, panel, 0, "checkpointed = True")
    save(page, panel)  # JupyterLab's save also creates the checkpoint
    wait_until(lambda: lab_raw.exists(".ipynb_checkpoints/revert-checkpoint.ipynb"), "the checkpoint in the bucket")
    assert cell_sources(json.loads(lab_raw.read(".ipynb_checkpoints/revert-checkpoint.ipynb"))) == [
        "checkpointed = True"
    ]
    type_in_cell(page, panel, 0, "unsaved = True")
    command(page, "docmanager:restore-checkpoint", wait=False)  # File > Revert Notebook to Checkpoint
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    panel.locator(".jp-Cell").first.locator(".cm-content", has_text="checkpointed = True").wait_for()
    assert cell_sources(stored_notebook(lab_raw, "revert.ipynb")) == ["checkpointed = True"]


def test_saving_twice_raises_no_file_changed_dialog(page, lab_raw):
    make_notebook(lab_raw, "twice.ipynb", ["a = 1"])
    panel = open_notebook(page, "twice.ipynb")
    for text in ("a = 2", "a = 3"):
        type_in_cell(page, panel, 0, text)
        save(page, panel)  # a "File Changed" dialog would block the save: the dirty mark would stay
        assert page.locator(".jp-Dialog").count() == 0
    assert cell_sources(stored_notebook(lab_raw, "twice.ipynb")) == ["a = 3"]


def test_file_browser_screenshot(page, lab_raw):
    refresh_browser(page)
    listing_item(page, "renamed.txt").wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#filebrowser").screenshot(path=str(ARTIFACTS / "file-browser.png"))
    assert (ARTIFACTS / "file-browser.png").stat().st_size > 1000


# A date years away as JupyterLab words it (Intl.RelativeTimeFormat, any style, past or
# future): the epoch is "56y ago" in the Modified column. Not a bare "56": a folder made 56
# seconds ago is "56s ago".
YEARS_AWAY = re.compile(r"\b\d+\s*(?:y|yrs?|years?)\b|\b(?:last|next) (?:year|yr)\b")


def test_years_away_matches_how_chromium_words_the_epoch():
    for shown in ("56y ago", "56 yr. ago", "56 years ago", "last year", "last yr.", "in 3 years", "in 3y", "next year"):
        assert YEARS_AWAY.search(f"inner\n{shown}"), shown
    for shown in ("56s ago", "56m ago", "56 minutes ago", "now", "56 days ago", "yesterday", "dated-by-keys"):
        assert not YEARS_AWAY.search(f"inner\n{shown}"), shown


def test_no_folder_shows_a_1970_date(page, lab, lab_raw):
    """Object stores keep no folder times; JupyterLab shows the epoch as "56 years ago".
    Folders made by the REST API, by JupyterLab and by another tool (keys only, no
    marker) each show a real date, at the top and one level down."""
    import urllib.request

    request = urllib.request.Request(
        f"{lab.url}/api/contents/dated-by-api?token={lab.token}",
        method="PUT",
        data=json.dumps({"type": "directory"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert urllib.request.urlopen(request, timeout=30).status == 201
    lab_raw.put("dated-by-keys/inner/data.csv", b"a,b\n1,2\n")
    refresh_browser(page)
    page.locator('#filebrowser jp-button[data-command="filebrowser:create-new-directory"]').click()
    editor = page.locator(".jp-DirListing-editor")
    editor.fill("dated-by-lab")
    editor.press("Enter")
    for name in ("dated-by-api", "dated-by-keys", "dated-by-lab"):
        listing_item(page, name).wait_for()
    refresh_browser(page)

    def shown_dates() -> dict[str, tuple[str, str]]:
        """Name -> (the Modified column's text, its tooltip with the full date)."""
        return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
            '#filebrowser .jp-DirListing-item')].map(item => [
                item.querySelector('.jp-DirListing-itemText').textContent,
                [item.querySelector('.jp-DirListing-itemModified').textContent,
                 item.querySelector('.jp-DirListing-itemModified').title]]))""")

    def assert_recent(dates: dict[str, tuple[str, str]], names) -> None:
        for name in names:
            text, full = dates[name]
            assert text and not YEARS_AWAY.search(text) and "1970" not in full, f"{name} is dated {text!r} ({full!r})"

    wait_until(lambda: {"dated-by-api", "dated-by-keys", "dated-by-lab"} <= set(shown_dates()), "the three folders")
    assert_recent(shown_dates(), ["dated-by-api", "dated-by-keys", "dated-by-lab"])
    listing_item(page, "dated-by-keys").dblclick()
    page.locator("#filebrowser .jp-BreadCrumbs", has_text="dated-by-keys").wait_for()
    listing_item(page, "inner").wait_for()
    assert_recent(shown_dates(), ["inner"])
    panel = page.locator("#filebrowser").inner_text()
    assert not YEARS_AWAY.search(panel), panel
