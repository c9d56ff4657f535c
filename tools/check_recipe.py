#!/usr/bin/env python3
"""Check the conda-forge recipe (recipe/recipe.yaml) the way rattler-build reads it.

Parses it with rattler-build's Python bindings (py-rattler-build, from PyPI) and renders it for
Linux, macOS and Windows with conda-forge's variant keys, then checks what the rendered recipes
say against the project: the version is Cargo.toml's, the run requirements are pyproject's
dependencies, the build script is a plain pip install. Nothing is downloaded or built (building
needs conda-forge's channel, which this machine cannot reach).

    python tools/check_recipe.py
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from rattler_build import Stage0Recipe, VariantConfig
from rattler_build.render import RenderConfig
from rattler_build.tool_config import PlatformConfig

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = """
python: ["3.9", "3.13"]
c_compiler: [gcc]
c_compiler_version: ["14"]
rust_compiler: [rust]
rust_compiler_version: ["1.89"]
c_stdlib: [sysroot]
c_stdlib_version: ["2.17"]
"""
# PyPI names that conda-forge spells differently.
CONDA_FORGE_NAMES = {"fastjsonschema": "python_fastjsonschema"}


def main() -> int:
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    version = cargo["workspace"]["package"]["version"]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = {
        re.split(r"[<>=!~ ]", d, maxsplit=1)[0].replace("-", "_").lower() for d in pyproject["project"]["dependencies"]
    }
    wanted = {CONDA_FORGE_NAMES.get(name, name) for name in wanted}

    recipe = Stage0Recipe.from_file(ROOT / "recipe" / "recipe.yaml")
    problems: list[str] = []
    for platform in ("linux-64", "linux-aarch64", "osx-arm64", "win-64"):
        config = RenderConfig(PlatformConfig(target_platform=platform, build_platform=platform, host_platform=platform))
        variants = recipe.render(VariantConfig.from_yaml(VARIANTS), config)
        if not variants:
            problems.append(f"{platform}: no variant rendered")
        for variant in variants:
            rendered = variant.recipe
            where = f"{platform} python {variant.variant.get('python')}"
            if str(rendered.package.version) != version:
                problems.append(f"{where}: version {rendered.package.version}, Cargo.toml says {version}")
            run = {
                re.split(r"[<>=!~ ]", str(r), maxsplit=1)[0].replace("-", "_").lower()
                for r in rendered.requirements.run
            }
            if not wanted <= run:
                problems.append(f"{where}: run requirements lack {sorted(wanted - run)}")
            script = " ".join(str(line) for line in rendered.build.script)
            if "-m pip install . -vv" not in script:
                problems.append(f"{where}: the build script is not a pip install of the sdist: {script}")
            print(
                f"{where}: {rendered.package.name} {rendered.package.version}, "
                f"build {[str(r) for r in rendered.requirements.build]}, run {sorted(run)}"
            )
    for problem in problems:
        print("recipe:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
