#!/usr/bin/env bash
# One entry point for people and CI. ./dev.sh help: the commands and their options.
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-.venv}
REF_VENV=${REF_VENV:-.venv-s3contents}
PY=${PYTHON:-python3}
# What `./dev.sh test --quick` leaves out (markers registered in pyproject.toml).
QUICK_MARKERS="not (browser or namespaces or compatibility or benchmarks or gcs or azure or file)"
ASSUME_YES=0  # --yes: install missing system packages (apt, as root) without asking

usage() {
    cat <<USAGE
usage: ./dev.sh [--yes] COMMAND [args...]

  lab [args...]      set up .venv, start a local S3 server (unless S3CONTENTS_ENDPOINT is set)
                     and run JupyterLab on it. The local server's buckets are kept in
                     ./.lab-data/ across restarts (delete it to start afresh). Other arguments
                     go to \`jupyter lab\`, e.g. ./dev.sh lab --port 9999 --no-browser
  test [args...]     set up everything and run every test (cargo + pytest); other arguments
                     go to pytest, e.g. ./dev.sh test tests/test_rest.py -k copy
  test --quick [args...]  cargo + pytest without the heavy groups (no browser, Azurite, ...)
  bench [args...]    set up, run the benchmarks (arguments go to benches/run.py)
  setup              only set up (.venv with the package built in release mode)
  generate           regenerate the sync manager (contents.py) from the async one
  docs               build the documentation site (docs/ -> site/) with mkdocs-material
  help               this text

  --yes              (before or right after COMMAND) install the system packages the tests need
                     (apt-get, when run as root) without asking; without it ./dev.sh asks on a
                     terminal and refuses otherwise. ./dev.sh lab installs no system packages.
USAGE
}

STEP=0
STEPS=1
step() {
    STEP=$((STEP + 1))
    echo "[$STEP/$STEPS] $*"
}

install_system_packages() {
    # Installs Debian packages with apt-get when running as root, having said what and why
    # first, and only with --yes or a "y" on the terminal. Returns 1 when it did not.
    local why=$1
    shift
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        return 1
    fi
    local cmd="apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $*"
    echo "Missing system package(s) for $why: $*. Installing them means running, as root:"
    echo "    $cmd"
    if [ "$ASSUME_YES" = 1 ]; then
        echo "(--yes given: installing)"
    elif [ -t 0 ]; then
        local answer
        read -r -p "Run it now? [y/N] " answer
        case "$answer" in
            [yY]*) ;;
            *) return 1 ;;
        esac
    else
        echo "Not installing system packages without being asked to: re-run with --yes (./dev.sh $COMMAND --yes ...) to allow it, or install them yourself." >&2
        exit 1
    fi
    eval "$cmd" >/dev/null
}

setup() {
    # Three steps. With "verbose", the extension's build shows cargo's progress.
    command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
    if [ -x "$VENV/bin/python" ]; then
        step "using $VENV"
    else
        step "creating $VENV"
        "$PY" -m venv "$VENV"
    fi
    step "installing pip and maturin into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q "maturin>=1.9,<2"
    # hybridcontents declares a dependency on the classic notebook package, which would
    # shadow jupyter_server; it only needs six at run time.
    "$VENV/bin/python" -m pip install -q --no-deps "hybridcontents==0.4.0"
    step "building the Rust extension (release, a few minutes the first time) and installing the Python dependencies"
    if [ "${1:-}" = verbose ]; then
        # -v: pip passes on the build's own output (cargo's "Compiling ..." lines).
        # (pipefail: a failed install fails the pipeline.)
        "$VENV/bin/python" -m pip install -v --progress-bar off -e ".[test,lab]" 2>&1 \
            | grep -v -E "^ *(Requirement already satisfied|Link requires a different Python|Running command|Using pip|Looking in links|Stored in directory|Attempting uninstall|Found existing installation|Uninstalling|Successfully uninstalled|Removing file or directory|changing mode of)|: (started|finished with status 'done')$"
    else
        "$VENV/bin/python" -m pip install -q -e ".[test,lab]"
    fi
}

AZURITE_VERSION=3.35.0  # the last release whose engines include Debian's Node 20

setup_azurite() {
    # Azurite (the Azure Blob Storage emulator) from npm, into ./node_modules, for the
    # Azure tests; their fixtures start it. Only for the tests, never for the lab.
    if ! command -v npm >/dev/null; then
        install_system_packages "the Azure tests' emulator (Azurite, from npm)" nodejs npm \
            || { echo "npm is needed for the Azure tests (Azurite): install Node.js"; exit 1; }
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
    install_system_packages "the browser tests" chromium \
        || echo "/usr/bin/chromium is missing: install Debian's chromium package (the browser tests need it)"
}

while [ "${1:-}" = --yes ]; do ASSUME_YES=1; shift; done
COMMAND=${1:-}
[ $# -gt 0 ] && shift
while [ "${1:-}" = --yes ]; do ASSUME_YES=1; shift; done

case "$COMMAND" in
    setup)
        STEPS=3
        setup
        ;;
    lab)
        # Only what the lab uses: the venv and the extension (no Azurite, no system packages).
        STEPS=4
        setup verbose
        if [ -z "${S3CONTENTS_ENDPOINT:-}" ] && [ -z "${S3CONTENTS_USE_AWS:-}" ]; then
            step "starting the local S3 server (moto from $VENV, data in ./.lab-data/) and JupyterLab"
        else
            step "starting JupyterLab"
        fi
        # Arguments after `lab` go to `jupyter lab` (the launcher keeps only its own --sync
        # and --local-s3-data).
        exec "$VENV/bin/python" -m s3contents_rs lab --local-s3-data "$PWD/.lab-data" "$@"
        ;;
    test)
        if [ "${1:-}" = "--quick" ]; then
            # A local loop: no set-up beyond the venv, the extension rebuilt if its
            # sources changed, and only the tests the heavy-group markers do not select.
            shift
            while [ "${1:-}" = --yes ]; do ASSUME_YES=1; shift; done
            if [ -x "$VENV/bin/python" ]; then
                STEPS=3
            else
                STEPS=6
                setup
            fi
            step "rebuilding the Rust extension if its sources changed (release)"
            "$VENV/bin/maturin" develop --release -q
            set -- -m "$QUICK_MARKERS" "$@"
        else
            STEPS=9
            setup
            step "installing Azurite (npm, into ./node_modules) for the Azure tests"
            setup_azurite
            step "setting up the reference s3contents in $REF_VENV"
            setup_reference
            step "checking for chromium (browser tests)"
            setup_chromium
            step "building the benchmarks' s3s-fs server if needed"
            setup_bench_s3_server  # for the benchmark's second-server test
        fi
        step "cargo test"
        cargo test --workspace --quiet
        # Two workers (pytest-xdist): most tests wait on a store server, so two overlap
        # well even on two cores. S3CONTENTS_TEST_WORKERS=0 runs them in this process.
        step "pytest"
        "$VENV/bin/python" -m pytest -n "${S3CONTENTS_TEST_WORKERS:-2}" --dist worksteal "$@"
        ;;
    generate)
        if [ ! -x "$VENV/bin/python" ]; then
            STEPS=3
            setup
        fi
        exec "$VENV/bin/python" tools/generate_sync.py
        ;;
    docs)
        [ -x "$VENV/bin/python" ] || setup
        "$VENV/bin/python" -m pip install -q "mkdocs-material>=9.5,<10"
        "$VENV/bin/python" tools/settings_reference.py --check
        NO_MKDOCS_2_WARNING=1 exec "$VENV/bin/mkdocs" build --strict
        ;;
    bench)
        STEPS=5
        setup
        step "setting up the reference s3contents in $REF_VENV"
        setup_reference
        step "building the benchmarks' s3s-fs server if needed"
        setup_bench_s3_server
        exec "$VENV/bin/python" benches/run.py "$@"
        ;;
    help | -h | --help)
        usage
        ;;
    *)
        usage >&2
        exit 2
        ;;
esac
