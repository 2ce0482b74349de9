# Shared by scripts/run, scripts/test and scripts/lock: make .venv and install the locked
# dependencies of the given set (requirements/<set>.txt: exact versions with hashes, ADR 0030)
# and the project itself, again only when the lock or the packaging files changed.
ensure_venv() {
    local set="$1"
    local lock="requirements/${set}.txt"
    local python="${PYTHON:-python3}"
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "Boardroom needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)." >&2
        exit 1
    fi
    [ -x .venv/bin/python ] || "$python" -m venv .venv
    local stamp=".venv/.boardroom-installed-${set}"
    local digest
    digest=$(cat setup.cfg pyproject.toml "$lock" | sha256sum | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
        echo "Installing Boardroom and its locked dependencies ($lock) into .venv ..." >&2
        .venv/bin/python -m pip install --quiet --require-hashes -r "$lock"
        .venv/bin/python -m pip install --quiet --no-deps -e .
        echo "$digest" > "$stamp"
    fi
}
