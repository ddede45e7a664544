"""Settings from the environment: one typed object per process (DESIGN.md §1, §4)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pymongo.database import Database

from comun import almacen
from comun.bus import Topologia


class Ajustes(BaseSettings):
    """What every service process needs. Names are the environment variables, case-insensitive."""

    model_config = SettingsConfigDict(extra="ignore")

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    mongo_url: str = "mongodb://127.0.0.1:27017"
    # Credentials kept out of the URLs (usually AMQP_CLAVE_FILE / MONGO_CLAVE_FILE, a mounted
    # secret): when a clave is given, the URL is rebuilt with it (and the usuario, if given).
    amqp_usuario: str = ""
    amqp_clave: SecretStr = SecretStr("")
    mongo_usuario: str = ""
    mongo_clave: SecretStr = SecretStr("")
    # Each service has its own database; empty means "the service's name".
    mongo_db: str = ""
    # Durable writes (DESIGN.md §3): journaled, and acknowledged by a majority on a replica set.
    # Lowering them trades acknowledged reclamos for speed; see README "Durabilidad".
    mongo_w: str = "majority"
    mongo_j: bool = True
    # Every store operation has a limit (ms), and a transaction waits on conflicts at most this (s).
    mongo_timeout_ms: int = 10_000
    espera_transaccion_s: float = 3.0
    # Prefix of every exchange and queue: lets test runs live beside a running platform.
    bus_nombre: str = "pdr"
    # Shared secret that proves a request came through the gateway. No default on purpose.
    token_interno: SecretStr = Field(min_length=16)
    log_level: str = "INFO"
    puerto: int = 8000
    puerto_metricas: int = 9100
    # Where a worker's /metrics listens: loopback unless told otherwise (compose sets 0.0.0.0,
    # reachable only inside its network, where Prometheus scrapes it).
    host_metricas: str = "127.0.0.1"
    prefetch: int = 50
    # Messages a worker handles at once (each in its own thread, with its own store session).
    # Two by measurement (issue 10, bench.pipeline): with four, the waiting messages were split
    # into small batches whose transactions contended in the store; with one, a batch held by a
    # lock a killed worker left (up to ESPERA_TRANSACCION_S) stalled the whole worker, and the
    # complete fault suite failed its kill -9 of registro's worker. A service grows by adding
    # worker processes.
    hilos_consumo: int = 2
    # Most events a thread applies in one transaction when several are waiting (1: one by one).
    lote_consumo: int = 16
    # Attempts of a failing handler before its message is parked, and the wait between them.
    limite_intentos: int = 5
    retraso_reintento_ms: int = 5000
    # Seconds between two passes of a worker's periodic sweep (deadlines, surveys): each pass
    # queries only what is due, through an index.
    barrido_intervalo_s: float = 30.0

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            SecretosEnArchivos(settings_cls),
            dotenv_settings,
            file_secret_settings,
        )

    @model_validator(mode="after")
    def _credenciales_en_urls(self) -> Self:
        self.amqp_url = con_credenciales(self.amqp_url, self.amqp_usuario, self.amqp_clave, "AMQP")
        self.mongo_url = con_credenciales(
            self.mongo_url, self.mongo_usuario, self.mongo_clave, "MONGO"
        )
        return self

    def topologia(self) -> Topologia:
        return Topologia(self.bus_nombre, self.limite_intentos, self.retraso_reintento_ms)

    def base_de_datos(self, servicio: str) -> str:
        return self.mongo_db or servicio

    def almacen(self, servicio: str) -> Database:
        """The service's own database, with the durability and limits set here."""
        almacen.ESPERA_TRANSACCION = self.espera_transaccion_s
        return almacen.conectar(
            self.mongo_url,
            self.base_de_datos(servicio),
            w=self.mongo_w,
            j=self.mongo_j,
            timeout_ms=self.mongo_timeout_ms,
        )


class SecretosEnArchivos(PydanticBaseSettingsSource):
    """`X_FILE=/ruta` gives the setting `x` the content of that file, the way Docker and
    Kubernetes mount secrets: the secret stays out of the environment (which `docker inspect` and
    /proc/PID/environ show). Setting both X and X_FILE is refused: which one wins would be a guess.
    """

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every field at once

    def __call__(self) -> dict[str, Any]:
        entorno = {clave.lower(): valor for clave, valor in os.environ.items()}
        valores: dict[str, Any] = {}
        for nombre in self.settings_cls.model_fields:
            ruta = entorno.get(f"{nombre}_file")
            if ruta is None:
                continue
            variable = nombre.upper()
            if nombre in entorno:
                raise ValueError(f"{variable} y {variable}_FILE están definidas: defina solo una.")
            try:
                contenido = Path(ruta).read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(
                    f"{variable}_FILE: no se puede leer {ruta} ({exc.strerror})."
                ) from None
            valores[nombre] = contenido.rstrip("\r\n")  # files written by `echo` end in a newline
        return valores


def con_credenciales(url: str, usuario: str, clave: SecretStr, nombre: str) -> str:
    """`url` with `usuario:clave@` as its credentials (percent-encoded, so any character is safe);
    unchanged without a clave. A URL with several hosts (a replica set) keeps them all."""
    secreto = clave.get_secret_value()
    if not secreto:
        return url
    partes = urlsplit(url)
    previo, _, hosts = partes.netloc.rpartition("@")
    usuario = usuario or unquote(previo.partition(":")[0])
    if not usuario:
        raise ValueError(f"{nombre}_CLAVE sin usuario: defina {nombre}_USUARIO.")
    netloc = f"{quote(usuario, safe='')}:{quote(secreto, safe='')}@{hosts}"
    return urlunsplit(partes._replace(netloc=netloc))
