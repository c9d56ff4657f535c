"""Route the Rust core's log records into the Jupyter server's log.

The core logs every store request (method, key, outcome, milliseconds; never credentials)
at debug level to the Python logger ``s3contents_rs.store``. A contents manager hands its
own logger (the server's, under Jupyter) here, so ``--log-level=DEBUG`` shows them next to
the server's other records, with the server's formatting.
"""

from __future__ import annotations

import logging

from ._core import reset_log_cache

CORE_LOGGER = "s3contents_rs.store"


def route_core_logs(log: logging.Logger | logging.LoggerAdapter[logging.Logger]) -> None:
    target = log.logger if isinstance(log, logging.LoggerAdapter) else log
    core = logging.getLogger(CORE_LOGGER)
    core.setLevel(target.getEffectiveLevel())
    if target.handlers and target is not logging.getLogger():
        # The server's logger does not propagate to the root: use its handlers directly.
        for handler in target.handlers:
            if handler not in core.handlers:
                core.addHandler(handler)
        core.propagate = False
    reset_log_cache()  # the core caches levels; make it see the new one
