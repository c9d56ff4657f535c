"""One table of error kinds: the core decides both the Python class and the HTTP status
(issue 13), and Jupyter answers with that status."""

from __future__ import annotations

import pytest
from tornado.web import HTTPError

from s3contents_rs import ObjectStoreContentsManager, exceptions
from s3contents_rs._core import ERROR_STATUS


def test_every_exception_class_has_the_status_of_the_core_table():
    classes = {
        c.__name__: c
        for c in vars(exceptions).values()
        if isinstance(c, type)
        and issubclass(c, exceptions.S3ContentsError)
        and c is not exceptions.S3ContentsError
    }
    assert set(classes) == set(ERROR_STATUS)
    for name, status in ERROR_STATUS.items():
        assert classes[name].status_code == status, name
    assert {
        ERROR_STATUS[n]
        for n in ("NotFoundError", "AlreadyExistsError", "PermissionDeniedError")
    } == {404, 409, 403}


@pytest.fixture
def store():
    return ObjectStoreContentsManager(url="memory://").store


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda s: s.get("missing.txt", "text"), exceptions.NotFoundError),
        (
            lambda s: (s.write("a.txt", b"1"), s.create("a.txt", b"2")),
            exceptions.AlreadyExistsError,
        ),
        (lambda s: s.write("a/../../b.txt", b"1"), exceptions.NotFoundError),
        (lambda s: s.write("bad\x01name.txt", b"1"), exceptions.InvalidPathError),
    ],
)
def test_a_core_error_raises_its_class_and_becomes_its_http_status(
    store, call, expected
):
    with pytest.raises(expected) as caught:
        call(store)
    assert type(caught.value) is expected
    with pytest.raises(HTTPError) as answered, exceptions.http_errors():
        raise caught.value
    assert answered.value.status_code == ERROR_STATUS[expected.__name__]
    assert answered.value.log_message == str(caught.value)
