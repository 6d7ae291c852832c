# Shared set-up for scripts/test and scripts/main (sourced, not run).
#
# Creates (or reuses) a virtual environment with mesa_batch installed in editable mode, and
# activates it. Settings, all optional, from the environment:
#   MESA_BATCH_VENV    where the environment lives            (default: .venv)
#   MESA_BATCH_PYTHON  the Python that creates it             (default: pyenv's choice for
#                      this directory, from .python-version, else python3.12, else python3)
#   MESA_BATCH_MESA    the pip requirement for Mesa           (default: mesa[network]==3.5.1)
#   MESA_BATCH_EXTRAS  the extras of mesa-batch to install    (default: dev,dask,jobqueue,mpi)
#   MESA_BATCH_MPI     the pip requirement for an MPI library  (default: mpich on Linux; empty
#                      to use the system's MPI)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${MESA_BATCH_VENV:-$ROOT/.venv}"
MESA_REQ="${MESA_BATCH_MESA:-mesa[network]==3.5.1}"
EXTRAS="${MESA_BATCH_EXTRAS:-dev,dask,jobqueue,mpi}"
if [[ -z "${MESA_BATCH_MPI+set}" && "$(uname -s)" == "Linux" ]]; then
    MESA_BATCH_MPI="mpich"
fi
MPI_REQ="${MESA_BATCH_MPI:-}"

find_python() {
    if [[ -n "${MESA_BATCH_PYTHON:-}" ]]; then
        if command -v "$MESA_BATCH_PYTHON" >/dev/null 2>&1; then
            command -v "$MESA_BATCH_PYTHON"
            return
        fi
        if command -v pyenv >/dev/null 2>&1 && PYENV_VERSION="$MESA_BATCH_PYTHON" pyenv which python >/dev/null 2>&1; then
            PYENV_VERSION="$MESA_BATCH_PYTHON" pyenv which python
            return
        fi
        echo "error: MESA_BATCH_PYTHON=$MESA_BATCH_PYTHON is neither a command nor a pyenv version" >&2
        return 1
    fi
    if command -v pyenv >/dev/null 2>&1 && pyenv which python >/dev/null 2>&1; then
        pyenv which python
    elif command -v python3.12 >/dev/null 2>&1; then
        command -v python3.12
    else
        command -v python3
    fi
}

# Reinstall only when the project's requirements or the requested Mesa changed.
STAMP="$VENV/.mesa-batch-stamp"
WANT="$( (cat pyproject.toml; echo "$MESA_REQ"; echo "$EXTRAS"; echo "$MPI_REQ") | sha256sum | cut -c1-16)"
if [[ ! -x "$VENV/bin/python" ]]; then
    PYTHON="$(find_python)"
    echo "setting up $VENV with $("$PYTHON" --version 2>&1) ..." >&2
    "$PYTHON" -m venv "$VENV"
fi
if [[ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]]; then
    echo "installing mesa-batch[$EXTRAS] and $MESA_REQ into $VENV ..." >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 \
        | grep -v "^WARNING: Location" >&2 || true
    # shellcheck disable=SC2086 # MPI_REQ is empty or one requirement
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -e ".[$EXTRAS]" "$MESA_REQ" $MPI_REQ 2>&1 | grep -v "^WARNING: Location" >&2 || true
    "$VENV/bin/python" -c "import mesa_batch, mesa" || {
        echo "error: installation into $VENV failed" >&2
        exit 1
    }
    echo "$WANT" > "$STAMP"
fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"
