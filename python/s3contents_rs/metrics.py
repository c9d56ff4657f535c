"""Prometheus metrics of the stores and of the contents operations, served by jupyter_server
at ``/metrics`` next to its own.

The store's HTTP requests are counted in Rust where they are sent (one counting HTTP client
per store, atomics only); :class:`StoreCollector` reads those counters at scrape time through
``_core.store_metrics()``. Contents operations (get, save, rename...) are timed here, around
the managers' public methods (:func:`timed`), outermost call only: a save that makes a
checkpoint counts as one save. Every metric has a ``store`` label, the manager's place
(``s3://bucket/prefix``); no label holds a key or a path.

The server extension calls :func:`register` once per process (``server_extension.load``);
docs/metrics.md lists the metrics and PromQL for common questions.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from ._core import store_metrics

# Contents operations last from milliseconds (a small get) to minutes (a large folder copy).
CONTENTS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

# Not in any registry itself: StoreCollector yields it, so one registration covers all.
CONTENTS_SECONDS = Histogram(
    "s3contents_contents_operation_duration_seconds",
    "Contents operations (get, save, rename, ...) by kind and outcome, with their durations",
    ["store", "operation", "outcome"],
    buckets=CONTENTS_BUCKETS,
    registry=None,
)

_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("s3contents_rs_timed", default=False)


def _outcome(error: BaseException) -> str:
    status = getattr(error, "status_code", None)
    if not isinstance(status, int):
        return "error"
    if status < 400:
        return "ok"
    return {404: "not_found", 403: "denied", 401: "denied", 409: "already_exists", 412: "precondition"}.get(
        status, "other_4xx" if status < 500 else "5xx"
    )


def _store_label(owner: Any) -> str:
    try:
        return str(owner._store.place)
    except Exception:  # noqa: BLE001 (a metric never breaks an operation)
        return "unknown"


@contextmanager
def _timing(owner: Any, operation: str) -> Iterator[None]:
    if _inside.get():
        yield
        return
    token = _inside.set(True)
    start = time.perf_counter()
    outcome = "ok"
    try:
        yield
    except BaseException as e:
        outcome = _outcome(e)
        raise
    finally:
        _inside.reset(token)
        CONTENTS_SECONDS.labels(_store_label(owner), operation, outcome).observe(time.perf_counter() - start)


F = TypeVar("F", bound=Callable[..., Any])


def timed(operation: str | Callable[..., str]) -> Callable[[F], F]:
    """Time a manager's (or checkpoints') method as the contents operation `operation` (or
    the name `operation(*args, **kwargs)` gives); works on coroutine functions and plain
    ones (the generated sync manager)."""
    name = operation if callable(operation) else (lambda *args, **kwargs: operation)

    def wrap(method: F) -> F:
        if inspect.iscoroutinefunction(method):

            @functools.wraps(method)
            async def run_async(self: Any, *args: Any, **kwargs: Any) -> Any:
                with _timing(self, name(*args, **kwargs)):
                    return await method(self, *args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(method)
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            with _timing(self, name(*args, **kwargs)):
                return method(self, *args, **kwargs)

        return run  # type: ignore[return-value]

    return wrap


def _is_chunk(model: Any) -> bool:
    return isinstance(model, dict) and model.get("chunk") is not None


def save_kind(model: Any = None, *args: Any, **kwargs: Any) -> str:
    """A save's operation name: "save_chunk" for a chunk of a chunked upload."""
    return "save_chunk" if _is_chunk(kwargs.get("model", model)) else "save"


def new_kind(model: Any = None, *args: Any, **kwargs: Any) -> str:
    """A new file's operation name: "save_chunk" for a chunk of a chunked upload (jupyter_server
    sends the chunks of a file that does not exist yet to ``new``)."""
    return "save_chunk" if _is_chunk(kwargs.get("model", model)) else "new"


class StoreCollector(Collector):
    """The store counters of the core, read at each scrape, and the contents timings."""

    def describe(self) -> list[Any]:
        return []  # names are only known at collect time; nothing to check at registration

    def collect(self) -> Iterator[Any]:
        stores = store_metrics()
        requests = CounterMetricFamily(
            "s3contents_store_requests",
            "HTTP requests sent to the store (every attempt, retries included) by operation and outcome",
            labels=["store", "operation", "outcome"],
        )
        retries = CounterMetricFamily(
            "s3contents_store_retries",
            "Requests that repeated a request of the same store that failed transiently (5xx, 429, timeout, "
            "no answer) within 5 minutes: object_store's retries and the core's own",
            labels=["store", "operation"],
        )
        latency = HistogramMetricFamily(
            "s3contents_store_request_duration_seconds",
            "Time from sending a store request to its answer's headers (or its failure)",
            labels=["store", "operation"],
        )
        read = CounterMetricFamily(
            "s3contents_store_read_bytes", "Bytes of the store's answers (bodies)", labels=["store"]
        )
        written = CounterMetricFamily(
            "s3contents_store_written_bytes", "Bytes of the requests' bodies sent to the store", labels=["store"]
        )
        open_uploads = GaugeMetricFamily(
            "s3contents_store_open_multipart_uploads",
            "Multipart uploads this server holds open (chunked uploads in progress, large saves)",
            labels=["store"],
        )
        for snap in stores:
            store = snap["store"]
            for operation, outcome, count in snap["requests"]:
                requests.add_metric([store, operation, outcome], count)
            for operation, count in snap["retries"]:
                retries.add_metric([store, operation], count)
            bounds = [*(repr(float(le)) for le in snap["latency_buckets"]), "+Inf"]
            for operation, cumulative, total in snap["latency"]:
                latency.add_metric([store, operation], list(zip(bounds, cumulative)), sum_value=total)
            read.add_metric([store], snap["bytes_read"])
            written.add_metric([store], snap["bytes_written"])
            open_uploads.add_metric([store], snap["open_multipart_uploads"])
        yield from (requests, retries, latency, read, written, open_uploads)
        yield from CONTENTS_SECONDS.collect()


_registered: set[int] = set()
_lock = threading.Lock()


def register(registry: CollectorRegistry = REGISTRY) -> bool:
    """Add the collector to `registry` (jupyter_server's ``/metrics`` serves the default
    one); once per process and registry. True when it was added by this call."""
    with _lock:
        if id(registry) in _registered:
            return False
        registry.register(StoreCollector())
        _registered.add(id(registry))
        return True


def register_metrics(log: Any = None) -> None:
    """:func:`register` for the server extension: never breaks the server."""
    try:
        register()
    except Exception as e:  # noqa: BLE001
        if log is not None:
            log.warning("s3contents_rs: the store metrics are not served at /metrics: %s", e)
