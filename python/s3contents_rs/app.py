"""``jupyter s3contents``: this package's settings, the Jupyter way.

``jupyter s3contents --help-all`` lists every configurable trait of every contents
manager and checkpoints class of this package, with its help text;
``jupyter s3contents check ...`` is ``python -m s3contents_rs check ...`` (see check.py).

Why not ``jupyter lab --help-all``: jupyter_server prints help from a fixed list of its own
classes, before it loads any extension or config file, so a contents manager configured
there is never in it (even FileContentsManager is missing from ``jupyter lab --help-all``).
"""

from __future__ import annotations

from jupyter_core.application import JupyterApp
from traitlets import default

from .check import CheckApp, _configurable_classes


class S3ContentsApp(JupyterApp):
    name = "jupyter-s3contents"
    description = """Settings of s3contents-rs, the Jupyter contents managers for object
    stores (S3, GCS, Azure, any object_store URL). Run with --help-all to list every
    setting of every class with its help; set them in jupyter_server_config.py as
    c.<Class>.<setting> = value, or on the server's command line as
    --<Class>.<setting>=value. Subcommand: check (try a configuration against its store)."""
    examples = """
    jupyter s3contents --help-all
    jupyter s3contents check --AsyncS3ContentsManager.bucket=my-notebooks
    """
    classes = _configurable_classes()
    subcommands = {
        "check": (
            CheckApp,
            "Try a configuration against its store: list the root, write, read, checkpoint and delete a probe.",
        ),
    }

    @default("config_file_name")
    def _config_file_name_default(self) -> str:
        return "jupyter_server_config"

    def start(self) -> None:
        super().start()  # runs the subcommand, if one was given
        self.print_help()
        self.exit(0)


main = launch_new_instance = S3ContentsApp.launch_instance

if __name__ == "__main__":
    main()
