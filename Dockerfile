# syntax=docker/dockerfile:1
#
# Una sola imagen para toda la plataforma: los cinco servicios (procesos web y worker) y el
# gateway. El proceso que corre lo decide `command` en compose.yaml (o el manifiesto de
# Kubernetes). No contiene secretos: llegan al arrancar como archivos (*_FILE) o variables.
# Solo el conjunto de ejecución: nada de pruebas, lanzador local, servidor embebido ni buzón.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# 1) Dependencias, en su propia capa: solo se reconstruye cuando cambia el lock. requirements.lock
#    fija cada paquete (también los transitivos) con sus hashes; se genera desde pyproject.toml
#    con scripts/bloquear.sh. --no-deps: nada que no esté en el lock entra en la imagen.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock \
 && rm requirements.lock

# 2) El código de la plataforma, sin sus dependencias (ya instaladas desde el lock).
COPY pyproject.toml ./
COPY comun ./comun
COPY servicios ./servicios
COPY gateway ./gateway
COPY herramientas ./herramientas
RUN pip install --no-deps . \
 && rm -rf build ./*.egg-info \
 && python -c "import comun, servicios, gateway, herramientas" \
 && pip check

# 3) Usuario sin privilegios; el código queda de root y de solo lectura para él.
RUN groupadd --system --gid 10001 plataforma \
 && useradd --system --uid 10001 --gid plataforma --home-dir /app --no-create-home \
            --shell /usr/sbin/nologin plataforma
USER 10001:10001

# 8000: HTTP (web y gateway); 9100: /metrics de los workers.
EXPOSE 8000 9100

# Por defecto arranca el gateway; compose.yaml fija el comando de cada proceso.
CMD ["uvicorn", "gateway.app:crear_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
