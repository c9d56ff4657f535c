"""Templated prefixes, so one JupyterHub config gives every user a private prefix.

``{username}`` is the JupyterHub user (``JUPYTERHUB_USER``); ``${NAME}`` is any
environment variable. A missing variable is an error, never an empty string: an empty
username would put every user in the same place.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Optional

_PLACEHOLDER = re.compile(r"\{username\}|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ANY_BRACES = re.compile(r"\$?\{[^}]*\}")


def expand_prefix(template: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """The prefix with ``{username}`` and ``${NAME}`` replaced (``TraitError`` if one is
    unset, or if the username is not a single path segment)."""
    from traitlets import TraitError

    env = os.environ if environ is None else environ

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or "JUPYTERHUB_USER"
        found = env.get(name)
        if not found:
            what = "{username}" if match.group(1) is None else f"${{{name}}}"
            raise TraitError(
                f"prefix: {what} is used in {template!r} but {name} is not set"
            )
        # A username is one segment ("a/../b" must not reach another user's prefix);
        # the core rejects "..", empty and control-character segments in any prefix.
        if match.group(1) is None and ("/" in found or found in (".", "..")):
            raise TraitError(
                f"prefix: JUPYTERHUB_USER={found!r} is not a single path segment"
            )
        return found

    unknown = _ANY_BRACES.findall(_PLACEHOLDER.sub("", template))
    if unknown:
        # "{user}" left as text would put every user under the same literal prefix.
        raise TraitError(
            f"prefix: unknown placeholder {unknown[0]!r} in {template!r} (use {{username}} or ${{NAME}})"
        )
    return _PLACEHOLDER.sub(value, template)
