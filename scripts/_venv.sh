# shellcheck shell=bash
# Sourced by the scripts: `setup_venv [test]` installs into .venv the pins of requirements.lock (with `test`:
# requirements-test.lock), both written by ./scripts/lock, and the project itself. Nothing is done when neither
# that lock nor pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/_system.sh"

# A .venv that cannot import its pip (made while python3-venv was missing, a Python since removed or upgraded) or
# whose making or last install was interrupted (.venv/.installing left behind) is removed and made again.
ensure_venv() {
  local python="${PYTHON:-python3}"
  if [ -e .venv ] && { [ -e .venv/.installing ] || ! .venv/bin/python -c 'import pip' 2>/dev/null; }; then
    echo "removing a half-made .venv (no pip in it, or its making or install was interrupted); making it again" >&2
    rm -rf .venv
  fi
  if [ ! -e .venv ]; then
    mkdir .venv
    touch .venv/.installing
    "$python" -m venv .venv
    rm .venv/.installing
  fi
}

# What the lock files were made from: pyproject.toml's dependencies, test extras, build backend and Python.
# ./scripts/lock writes it into both; a lock without the current one is out of date.
dependencies_digest() {
  "${PYTHON:-python3}" - <<'PY'
import hashlib, json, tomllib
with open("pyproject.toml", "rb") as file:
    pyproject = tomllib.load(file)
project = pyproject["project"]
sources = [
    pyproject["build-system"]["requires"],
    project["dependencies"],
    project.get("optional-dependencies", {}).get("test", []),
    project.get("requires-python"),
]
print("pyproject.toml dependencies sha256:" + hashlib.sha256(json.dumps(sources).encode()).hexdigest())
PY
}

setup_venv() {
  local lock="requirements${1:+-$1}.lock"
  require_system python venv pdf
  ensure_venv
  local stamp=".venv/.installed-$lock"
  local digest
  digest="$(cat "$lock" pyproject.toml | sha256sum)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
    export PATH="$ROOT/.venv/bin:$PATH"
    return 0
  fi
  if ! grep -qF "$(dependencies_digest)" "$lock"; then
    echo "$lock was not made from pyproject.toml's current dependencies: run ./scripts/lock, then commit" \
      "pyproject.toml and both lock files" >&2
    exit 1
  fi
  echo "installing $lock into .venv" >&2
  touch .venv/.installing
  rm -f .venv/.installed-*  # the other lock's install is no longer known to be whole
  .venv/bin/python -m pip install --quiet --require-hashes -r "$lock"
  # The project itself: its dependencies are the lock's; its build backend (setuptools) is pinned there too.
  .venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
  rm .venv/.installing
  echo "$digest" >"$stamp"
  export PATH="$ROOT/.venv/bin:$PATH"
}
