# Sourced by scripts/test and scripts/demo: make the virtual environment and install the locked
# development environment into it, then FlowODM itself (editable, nothing re-resolved).
# requirements/dev.lock pins every package, with hashes, so the result does not depend on what
# the package index released today; scripts/lock is the one way to move it. When the lock,
# pyproject.toml or FlowODM's version changed since the last install, the environment is made
# anew (so a package the lock dropped is gone too) and checked against pyproject.toml.
# FLOWODM_VENV and FLOWODM_LOCK choose another environment and lock (scripts/lane uses them).
set -euo pipefail
PYTHON=${PYTHON:-python3}
VENV=${FLOWODM_VENV:-.venv}
LOCK=${FLOWODM_LOCK:-requirements/dev.lock}
stamp=$VENV/.flowodm-installed
# `|| true`: under pipefail a grep that finds nothing would end the script without a word.
want=$( (cat pyproject.toml "$LOCK"; grep '^__version__' flowodm/__init__.py || true) \
    | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "flowodm: needs Python 3.11 or newer; '$PYTHON' is $("$PYTHON" --version 2>&1)." \
            "Set PYTHON=/path/to/python3.11 (or newer) and run again." >&2
        exit 2
    fi
    if [ -e "$VENV" ] && [ ! -f "$VENV/pyvenv.cfg" ]; then
        echo "flowodm: $VENV exists and is not a virtual environment; move it away" >&2
        exit 2
    fi
    rm -rf "$VENV"
    echo "flowodm: creating $VENV with $("$PYTHON" --version) from $LOCK" >&2
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
        --only-binary :all: -r "$LOCK"
    # hatchling comes from the lock: no build isolation, so no build-time resolution either.
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
        --no-build-isolation -e .
    # scripts/lock sets FLOWODM_LOCKING: it needs the tools (uv) of the old lock to write the
    # new one, so the check (which a pyproject.toml edit fails until then) waits for the next
    # run, which finds no stamp and makes the environment anew from the new lock.
    if [ -z "${FLOWODM_LOCKING:-}" ]; then
        "$VENV/bin/python" scripts/check_env.py
        echo "$want" > "$stamp"
    fi
fi
