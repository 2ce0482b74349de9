# Shared by scripts/run and scripts/test: make .venv and install the project with the given
# extras, again only when the packaging files changed since the last install.
ensure_venv() {
    local extras="$1"
    local python="${PYTHON:-python3}"
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "Boardroom needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)." >&2
        exit 1
    fi
    [ -x .venv/bin/python ] || "$python" -m venv .venv
    local stamp=".venv/.boardroom-installed-${extras}"
    local digest
    digest=$(cat setup.cfg pyproject.toml | sha256sum | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
        echo "Installing Boardroom and its dependencies into .venv ..." >&2
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet -e ".[${extras}]"
        echo "$digest" > "$stamp"
    fi
}
