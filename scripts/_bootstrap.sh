# Sourced by scripts/test and scripts/demo: make the virtual environment and install the locked
# development environment into it, then FlowODM itself (editable, nothing re-resolved).
# requirements/dev.lock pins every package, with hashes, so the result does not depend on what
# the package index released today; scripts/lock is the one way to move it. Re-installs when
# the lock or pyproject.toml changed since the last install.
# FLOWODM_VENV and FLOWODM_LOCK choose another environment and lock (scripts/lane uses them).
set -euo pipefail
PYTHON=${PYTHON:-python3}
VENV=${FLOWODM_VENV:-.venv}
LOCK=${FLOWODM_LOCK:-requirements/dev.lock}
if [ ! -x "$VENV/bin/python" ]; then
    echo "flowodm: creating $VENV with $($PYTHON --version)" >&2
    "$PYTHON" -m venv "$VENV"
fi
stamp=$VENV/.flowodm-installed
want=$(cat pyproject.toml "$LOCK" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "flowodm: installing $LOCK into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
        --only-binary :all: -r "$LOCK"
    # hatchling comes from the lock: no build isolation, so no build-time resolution either.
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
        --no-build-isolation -e .
    echo "$want" > "$stamp"
fi
