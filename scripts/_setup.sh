# Shared set-up for scripts/test and scripts/main (sourced, not run).
#
# Creates (or reuses) a virtual environment with mesa_batch installed in editable mode, and
# activates it. Settings, all optional, from the environment:
#   MESA_BATCH_VENV    where the environment lives            (default: .venv)
#   MESA_BATCH_PYTHON  the Python that creates it             (default: pyenv's choice for
#                      this directory, from .python-version, else python3.12, else python3)
#   MESA_BATCH_MESA    the pip requirement for Mesa           (default: mesa[network]==3.5.1)
#   MESA_BATCH_EXTRAS  the extras of mesa-batch to install    (default: dev,dask,jobqueue,mpi;
#                      empty for none, as scripts/main sets it)
#   MESA_BATCH_MPI     the pip requirement for an MPI library  (default: mpich on Linux when the
#                      mpi extra is installed; empty to use the system's MPI)
#
# An environment that already holds what is asked for (the same pyproject.toml and Mesa, and
# at least these extras) is used as it is: scripts/main runs in the environment scripts/test
# made, and scripts/test adds its extras to the one scripts/main made.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${MESA_BATCH_VENV:-$ROOT/.venv}"
MESA_REQ="${MESA_BATCH_MESA:-mesa[network]==3.5.1}"
EXTRAS="${MESA_BATCH_EXTRAS-dev,dask,jobqueue,mpi}"
if [[ -z "${MESA_BATCH_MPI+set}" && "$(uname -s)" == "Linux" && ",$EXTRAS," == *,mpi,* ]]; then
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

# Reinstall only when the project's requirements or the requested Mesa changed, or when an
# extra (or the MPI library) asked for is not installed yet. The stamp holds a hash of the
# first two and, on its second line, what is installed.
STAMP="$VENV/.mesa-batch-stamp"
BASE="$( (cat pyproject.toml; echo "$MESA_REQ") | sha256sum | cut -c1-16)"
WANT="$(echo "$EXTRAS" | tr ',' '\n'; [[ -z "$MPI_REQ" ]] || echo "lib:$MPI_REQ")"
HAVE=""
if [[ "$(sed -n 1p "$STAMP" 2>/dev/null)" == "$BASE" ]]; then
    HAVE="$(sed -n 2p "$STAMP" | tr ' ' '\n')"
fi
MISSING="$(comm -23 <(echo "$WANT" | sed '/^$/d' | sort -u) <(echo "$HAVE" | sed '/^$/d' | sort -u))"
if [[ ! -x "$VENV/bin/python" ]]; then
    PYTHON="$(find_python)"
    echo "setting up $VENV with $("$PYTHON" --version 2>&1) ..." >&2
    "$PYTHON" -m venv "$VENV"
    HAVE="" MISSING="$WANT"
fi
if [[ ! -f "$STAMP" || "$(sed -n 1p "$STAMP")" != "$BASE" || -n "$MISSING" ]]; then
    ALL="$( (echo "$WANT"; echo "$HAVE") | sed '/^$/d' | sort -u)"
    extras="$(echo "$ALL" | grep -v '^lib:' | paste -sd, - || true)"
    libs="$(echo "$ALL" | grep '^lib:' | cut -c5- | paste -sd' ' - || true)"
    target="."
    [[ -z "$extras" ]] || target=".[$extras]"
    echo "installing mesa-batch${extras:+[$extras]} and $MESA_REQ${libs:+ and $libs} into $VENV ..." >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 \
        | grep -v "^WARNING: Location" >&2 || true
    # shellcheck disable=SC2086 # libs is empty or space-separated requirements
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -e "$target" "$MESA_REQ" $libs 2>&1 | grep -v "^WARNING: Location" >&2 || true
    "$VENV/bin/python" -c "import mesa_batch, mesa" || {
        echo "error: installation into $VENV failed" >&2
        exit 1
    }
    printf '%s\n%s\n' "$BASE" "$(echo "$ALL" | paste -sd' ' -)" > "$STAMP"
fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"
