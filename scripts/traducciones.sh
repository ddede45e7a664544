#!/usr/bin/env bash
# The pages' catalogs after a change of text: extract, merge into every language, then list what
# is still to translate (see herramientas/traducciones.py).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
.venv/bin/python -m herramientas.traducciones actualizar
.venv/bin/python -m herramientas.traducciones revisar
