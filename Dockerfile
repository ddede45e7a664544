# syntax=docker/dockerfile:1
#
# Una sola imagen para toda la plataforma: los cinco servicios (procesos web y worker) y el
# gateway. El proceso que corre lo decide `command` en compose.yaml (o el manifiesto de
# Kubernetes). No contiene secretos: todo llega por variables de entorno al arrancar.
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# 1) Dependencias, en su propia capa: solo se reconstruye cuando cambia pyproject.toml.
#    Las versiones están fijadas en pyproject.toml (única fuente de verdad).
COPY pyproject.toml ./
RUN python -c "import tomllib; d = tomllib.load(open('pyproject.toml', 'rb')); print('\n'.join(d['project']['dependencies']))" > /tmp/requisitos.txt \
 && pip install -r /tmp/requisitos.txt \
 && rm /tmp/requisitos.txt

# 2) El código de la plataforma (sin extras: el servidor embebido es solo para desarrollo local).
COPY comun ./comun
COPY servicios ./servicios
COPY gateway ./gateway
COPY herramientas ./herramientas
RUN pip install --no-deps . \
 && rm -rf build ./*.egg-info \
 && python -c "import comun, servicios, gateway, herramientas"

# 3) Usuario sin privilegios; el código queda de root y de solo lectura para él.
RUN groupadd --system --gid 10001 plataforma \
 && useradd --system --uid 10001 --gid plataforma --home-dir /app --no-create-home \
            --shell /usr/sbin/nologin plataforma
USER 10001:10001

# 8000: HTTP (web y gateway); 9100: /metrics de los workers.
EXPOSE 8000 9100

# Por defecto arranca el gateway; compose.yaml fija el comando de cada proceso.
CMD ["uvicorn", "gateway.app:crear_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
