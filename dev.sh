#!/usr/bin/env bash
# One entry point for people and CI.
#   ./dev.sh lab    set up, start a local S3 server if none is configured, run JupyterLab on it
#   ./dev.sh test   set up, run every test (cargo + pytest against a local S3 server)
#   ./dev.sh test --quick  cargo + pytest without the heavy groups (QUICK_MARKERS below)
#   ./dev.sh bench  set up, run the benchmarks
#   ./dev.sh setup  only set up (.venv with the package built in release mode)
#   ./dev.sh generate  regenerate the sync manager (contents.py) from the async one
#   ./dev.sh docs   build the documentation site (docs/ -> site/) with mkdocs-material
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-.venv}
REF_VENV=${REF_VENV:-.venv-s3contents}
PY=${PYTHON:-python3}
# What `./dev.sh test --quick` leaves out (markers registered in pyproject.toml).
QUICK_MARKERS="not (browser or namespaces or compatibility or benchmarks or gcs or azure or file)"

setup() {
    command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
    [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q "maturin>=1.9,<2"
    # hybridcontents declares a dependency on the classic notebook package, which would
    # shadow jupyter_server; it only needs six at run time.
    "$VENV/bin/python" -m pip install -q --no-deps "hybridcontents==0.4.0"
    "$VENV/bin/python" -m pip install -q -e ".[test,lab]"
    setup_azurite
}

AZURITE_VERSION=3.35.0  # the last release whose engines include Debian's Node 20

setup_azurite() {
    # Azurite (the Azure Blob Storage emulator) from npm, into ./node_modules, for the
    # Azure tests; their fixtures start it.
    if ! command -v npm >/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
        else
            echo "npm is needed for the Azure tests (Azurite): install Node.js"; exit 1
        fi
    fi
    if ! grep -qs "\"version\": \"$AZURITE_VERSION\"" node_modules/azurite/package.json; then
        npm install --no-save --no-audit --no-fund --loglevel=error --prefix . "azurite@$AZURITE_VERSION" >/dev/null
    fi
}

setup_reference() {
    # The PyPI s3contents package, in its own venv (its pins clash with ours): used to
    # write buckets the way s3contents does, to run its own test suite, and as the
    # benchmark baseline.
    [ -x "$REF_VENV/bin/python" ] || "$PY" -m venv "$REF_VENV"
    "$REF_VENV/bin/python" -m pip install -q --upgrade pip
    # notebook<7 and pytest: s3contents' own tests subclass the classic notebook's contents
    # tests (tests/test_s3contents_suite.py runs them here against our managers).
    "$REF_VENV/bin/python" -m pip install -q "s3contents==0.11.2" "jupyter_server>=2.11,<3" "moto[server]>=5" boto3 \
        "notebook<7" pytest
    export S3CONTENTS_REF_PYTHON="$PWD/$REF_VENV/bin/python"
}

setup_bench_s3_server() {
    # The tree-rename benchmark's second local S3 server: s3s-fs from crates.io, with the
    # few S3 answers it gets wrong put right (benches/s3s-fs-server), in .tools/ (git-ignored).
    # Built once (a few minutes), again only when its sources change.
    local bin=.tools/bin/bench-s3s-fs src=benches/s3s-fs-server
    if [ -x "$bin" ] && [ -z "$(find "$src/Cargo.toml" "$src/Cargo.lock" "$src/src" -newer "$bin" -print -quit)" ]; then
        return
    fi
    echo "building the benchmarks' s3s-fs server (once; a few minutes)..."
    cargo install --quiet --locked --path "$src" --root .tools
}

setup_chromium() {
    # The browser tests drive Debian's chromium through Playwright (no browser download).
    [ -x /usr/bin/chromium ] && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
    else
        echo "/usr/bin/chromium is missing: install Debian's chromium package (the browser tests need it)"
    fi
}

case "${1:-}" in
    setup) setup ;;
    lab)
        setup
        shift
        exec "$VENV/bin/python" -m s3contents_rs lab "$@"
        ;;
    test)
        shift
        if [ "${1:-}" = "--quick" ]; then
            # A local loop: no set-up beyond the venv, the extension rebuilt if its
            # sources changed, and only the tests the heavy-group markers do not select.
            shift
            [ -x "$VENV/bin/python" ] || setup
            "$VENV/bin/maturin" develop --release -q
            set -- -m "$QUICK_MARKERS" "$@"
        else
            setup
            setup_reference
            setup_chromium
            setup_bench_s3_server  # for the benchmark's second-server test
        fi
        cargo test --workspace --quiet
        # Two workers (pytest-xdist): most tests wait on a store server, so two overlap
        # well even on two cores. S3CONTENTS_TEST_WORKERS=0 runs them in this process.
        "$VENV/bin/python" -m pytest -n "${S3CONTENTS_TEST_WORKERS:-2}" --dist worksteal "$@"
        ;;
    generate)
        [ -x "$VENV/bin/python" ] || setup
        exec "$VENV/bin/python" tools/generate_sync.py
        ;;
    docs)
        [ -x "$VENV/bin/python" ] || setup
        "$VENV/bin/python" -m pip install -q "mkdocs-material>=9.5,<10"
        "$VENV/bin/python" tools/settings_reference.py --check
        NO_MKDOCS_2_WARNING=1 exec "$VENV/bin/mkdocs" build --strict
        ;;
    bench)
        setup
        setup_reference
        setup_bench_s3_server
        shift
        exec "$VENV/bin/python" benches/run.py "$@"
        ;;
    *)
        echo "usage: $0 {lab|test|bench|docs|setup|generate} [args...]"
        exit 2
        ;;
esac
