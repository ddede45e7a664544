# Sourced by scripts/run and scripts/test: leaves a ready virtual environment in .venv and a
# reachable RabbitMQ, or says plainly what is missing. Safe to run again: it only does what's due.
set -euo pipefail
RAIZ="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$RAIZ"

falta() { printf '\n*** %s\n\n' "$*" >&2; exit 1; }

# 1. Python 3.11 or newer, able to make a virtual environment (Debian ships venv apart).
buscar_python() {
  for candidato in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidato" >/dev/null 2>&1 &&
       "$candidato" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidato"; return
    fi
  done
}
PY="$(buscar_python)"
if [ -z "$PY" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Instalando python3-venv con apt-get..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
  PY="$(buscar_python)"
fi
[ -n "$PY" ] || falta "Se necesita Python 3.11 o superior con venv (Debian: sudo apt-get install python3 python3-venv)."

# 2. The virtual environment: exactly requirements-dev.lock (every package pinned, with hashes;
#    generated from pyproject.toml by scripts/bloquear.sh), then this tree itself, editable. Made
#    afresh when the lock or pyproject.toml changes, so nothing outside the lock lingers.
huella="$(cat pyproject.toml requirements-dev.lock | sha256sum | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.instalado 2>/dev/null)" != "$huella" ]; then
  echo "Preparando el entorno virtual (.venv) desde requirements-dev.lock..."
  "$PY" -m venv --clear .venv || falta "No se pudo crear el entorno virtual (Debian: sudo apt-get install python3-venv)."
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock ||
    falta "No se pudo instalar requirements-dev.lock (¿hay conexión con PyPI?)."
  .venv/bin/python -m pip install --quiet --no-deps -e .
  echo "$huella" > .venv/.instalado
fi

# 3. Node tools for the tests (Spectral lints the gateway's OpenAPI document), pinned in
#    package-lock.json and (re)installed with `npm ci` when it changes. Optional: without Node.js
#    the platform runs and the lint test is skipped, saying why (tests/integracion/
#    test_contrato_openapi.py words it the same way). Install scripts are not run: Spectral needs
#    none (the one in its tree only reports download statistics).
aviso() { printf '\n*** %s\n\n' "$*" >&2; }
NODE_MINIMO="Node.js 20.17 o posterior, o 18.18+"  # @stoplight/spectral-cli's "engines"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  aviso "Falta Node.js con npm (se necesita ${NODE_MINIMO}): no se revisa el documento OpenAPI con Spectral.
    Instálelos (Debian: sudo apt-get install nodejs npm) y ejecute scripts/preparar.sh."
elif ! node -e 'const [a, b] = process.versions.node.split(".").map(Number);
    process.exit((a === 16 && b >= 20) || (a === 18 && b >= 18) || (a === 20 && b >= 17) || a > 20 ? 0 : 1)'; then
  aviso "Node.js $(node --version) es muy antiguo para Spectral: se necesita ${NODE_MINIMO}.
    No se revisa el documento OpenAPI con Spectral."
else
  huella_npm="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [ ! -x node_modules/.bin/spectral ] || [ "$(cat node_modules/.instalado 2>/dev/null)" != "$huella_npm" ]; then
    echo "Instalando las herramientas de Node (node_modules)..."
    if npm ci --no-audit --no-fund --ignore-scripts --loglevel=error; then
      echo "$huella_npm" > node_modules/.instalado
    else
      aviso "npm ci falló: Spectral no quedó instalado y la prueba del documento OpenAPI fallará.
    Revise la conexión al registro de npm y vuelva a ejecutar scripts/preparar.sh."
    fi
  fi
fi

# 4. RabbitMQ (AMQP_URL, default 127.0.0.1:5672). Started if installed but stopped.
AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2F}"
export AMQP_URL
broker_responde() {
  .venv/bin/python - <<'PY'
import os, sys
from comun.bus import broker_responde
sys.exit(0 if broker_responde(os.environ["AMQP_URL"]) else 1)
PY
}
if ! broker_responde; then
  if command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/sbin/rabbitmq-server ]; then
    echo "RabbitMQ está instalado pero no responde: iniciándolo..."
    if [ "$(id -u)" = 0 ]; then
      PATH="$PATH:/usr/sbin" rabbitmq-server -detached >/dev/null 2>&1 || true
    elif command -v systemctl >/dev/null 2>&1; then
      sudo systemctl start rabbitmq-server || true
    fi
    for _ in $(seq 1 60); do broker_responde && break; sleep 1; done
  elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ "${INSTALAR_RABBITMQ:-1}" = 1 ]; then
    echo "RabbitMQ no está instalado: instalándolo con apt-get (INSTALAR_RABBITMQ=0 para evitarlo)..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server
    rabbitmq-server -detached >/dev/null 2>&1 || true
    for _ in $(seq 1 90); do broker_responde && break; sleep 1; done
  fi
  broker_responde || falta "RabbitMQ no responde en ${AMQP_URL##*@}.
    Instálelo e inícielo:  sudo apt-get install rabbitmq-server && sudo systemctl start rabbitmq-server
    o indique otro broker:  AMQP_URL=amqp://usuario:clave@host:5672/%2F"
fi

# 5. Prometheus and Alertmanager from Debian: the local launcher runs its own instances (on its
#    own ports) scraping every process and the broker, so monitoring works without Docker.
#    Optional like Node: without them the platform runs unmonitored and the monitoring tests say why.
if ! command -v prometheus >/dev/null 2>&1 || ! command -v prometheus-alertmanager >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ "${INSTALAR_PROMETHEUS:-1}" = 1 ]; then
    echo "Instalando prometheus y prometheus-alertmanager con apt-get (INSTALAR_PROMETHEUS=0 para evitarlo)..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      prometheus prometheus-alertmanager ||
      aviso "apt-get no pudo instalar prometheus y prometheus-alertmanager: la plataforma local correrá sin monitoreo."
  else
    aviso "Faltan prometheus y prometheus-alertmanager: la plataforma local correrá sin monitoreo.
    Instálelos (Debian: sudo apt-get install prometheus prometheus-alertmanager) y ejecute scripts/preparar.sh."
  fi
fi

# 6. The broker's own metrics (queue depth, consumers; rabbitmq_prometheus on port 15692) and its
#    console, when the broker is on this machine: plugins enabled once, online (no restart).
#    Enabling one already on changes nothing.
host_broker="$(.venv/bin/python -c 'import os, urllib.parse; print(urllib.parse.urlsplit(os.environ["AMQP_URL"]).hostname or "")')"
metricas_broker() {
  .venv/bin/python -c 'import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen("http://127.0.0.1:15692/metrics", timeout=3).status == 200 else 1)
except OSError:
    sys.exit(1)'
}
case "$host_broker" in
  127.0.0.1 | localhost | ::1)
    if ! metricas_broker; then
      plugins="rabbitmq_management rabbitmq_prometheus"
      if [ "$(id -u)" = 0 ] && PATH="$PATH:/usr/sbin" command -v rabbitmq-plugins >/dev/null 2>&1; then
        echo "Habilitando en RabbitMQ: ${plugins}..."
        PATH="$PATH:/usr/sbin" rabbitmq-plugins enable --quiet $plugins >/dev/null ||
          aviso "No se pudieron habilitar ${plugins}: los paneles de colas no tendrán datos."
        for _ in $(seq 1 20); do metricas_broker && break; sleep 1; done
      else
        aviso "RabbitMQ no expone sus métricas (puerto 15692): los paneles y alertas de colas no tendrán datos.
    Habilítelas:  sudo rabbitmq-plugins enable ${plugins}"
      fi
    fi ;;
esac

# 7. Chromium from Debian for the pages' browser tests (tests/e2e/navegador): Playwright drives
#    /usr/bin/chromium and never downloads a browser of its own. Optional like Node: without it
#    the platform runs and those tests fail saying to come back here.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1  # a Playwright upgrade must not fetch one either
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ "${INSTALAR_CHROMIUM:-1}" = 1 ]; then
    echo "Instalando chromium con apt-get para las pruebas de las páginas en el navegador (INSTALAR_CHROMIUM=0 para evitarlo)..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium ||
      aviso "apt-get no pudo instalar chromium: las pruebas de las páginas en el navegador (tests/e2e/navegador) fallarán."
  else
    aviso "Falta Chromium (/usr/bin/chromium): las pruebas de las páginas en el navegador (tests/e2e/navegador) fallarán.
    Instálelo (Debian: sudo apt-get install chromium) y ejecute scripts/preparar.sh."
  fi
fi
