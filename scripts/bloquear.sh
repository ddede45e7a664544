#!/usr/bin/env bash
# Regenerates the lock files from pyproject.toml (the one place where direct versions are
# declared): every transitive package pinned, with the hashes of every file PyPI has for it.
#   requirements.lock      the runtime set: what the image installs (Dockerfile)
#   requirements-dev.lock  runtime + the local launcher + development tools (scripts/preparar.sh)
# Run it after changing a version in pyproject.toml and commit the three files together.
# Universal (markers instead of this machine's answers) for Python 3.11, the image's version.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
UV="${UV:-.venv/bin/uv}"
[ -x "$UV" ] || UV="$(command -v uv)" || { echo "Falta uv (pip install -r requirements-dev.lock)" >&2; exit 1; }
comun=(--universal --python-version 3.11 --generate-hashes --no-emit-package plataforma-reclamos
       --custom-compile-command "bash scripts/bloquear.sh" --quiet)
"$UV" pip compile pyproject.toml "${comun[@]}" "$@" -o requirements.lock
"$UV" pip compile pyproject.toml --extra local --extra dev "${comun[@]}" "$@" -o requirements-dev.lock
