"""Secrets never shown: the config that ``--show-config`` prints and the application
logs is redacted (keys, tokens, passwords)."""

from __future__ import annotations

import logging
import re
from typing import Any

from traitlets import HasTraits


class _Redacted:
    """Stands in for a secret in config that is printed or logged."""

    def __repr__(self) -> str:
        return "'<redacted>'"


# Config names (traits and store_options keys) that hold secrets: keys, tokens, SAS...
_SECRET_NAME = re.compile(
    r"secret|token|password|sas|account_key|service_account|_key$", re.IGNORECASE
)


def _redacted(config: Any, secret: frozenset = frozenset()) -> Any:
    """A copy of a (nested) config dict with secret values replaced."""
    if not isinstance(config, dict):
        return config
    return {
        name: _Redacted()
        if (name in secret or _SECRET_NAME.search(str(name))) and isinstance(value, str)
        else _redacted(value, secret)
        for name, value in config.items()
    }


def _redact_shown_config(manager: HasTraits) -> None:
    """`jupyter server --show-config` prints the loaded config once the managers exist
    (and then exits): replace the secrets in it. Traits tagged ``secret=True`` count."""
    app = getattr(manager, "parent", None)
    if not getattr(app, "show_config", False):
        return
    secret = frozenset(
        name for name, trait in manager.traits().items() if trait.metadata.get("secret")
    )
    for name, section in list(app.config.items()):
        if isinstance(section, dict):
            app.config[name] = type(section)(_redacted(section, secret))


class _RedactConfigLog(logging.Filter):
    """traitlets logs the whole loaded config at DEBUG ("Config changed: ..."): redact it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):
            record.args = _redacted(record.args)
        elif isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        return True


def _guard_application_log() -> None:
    """Install the filter on the running application's logger. Called when this module is
    imported, which a config file does before the app logs what it loaded."""
    from traitlets.config import Application

    if Application.initialized():
        log = Application.instance().log
        if isinstance(log, logging.Logger) and not any(
            isinstance(f, _RedactConfigLog) for f in log.filters
        ):
            log.addFilter(_RedactConfigLog())


_guard_application_log()
