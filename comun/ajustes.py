"""Settings from the environment: one typed object per process (DESIGN.md §1, §4)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo.database import Database

from comun import almacen
from comun.bus import Topologia


class Ajustes(BaseSettings):
    """What every service process needs. Names are the environment variables, case-insensitive."""

    model_config = SettingsConfigDict(extra="ignore")

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    mongo_url: str = "mongodb://127.0.0.1:27017"
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
    hilos_consumo: int = 4
    # Attempts of a failing handler before its message is parked, and the wait between them.
    limite_intentos: int = 5
    retraso_reintento_ms: int = 5000
    # Seconds between two passes of a worker's periodic sweep (deadlines, surveys): each pass
    # queries only what is due, through an index.
    barrido_intervalo_s: float = 30.0

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
