"""Settings from the environment: one typed object per process (DESIGN.md §1, §4)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from comun.bus import Topologia


class Ajustes(BaseSettings):
    """What every service process needs. Names are the environment variables, case-insensitive."""

    model_config = SettingsConfigDict(extra="ignore")

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    mongo_url: str = "mongodb://127.0.0.1:27017"
    # Each service has its own database; empty means "the service's name".
    mongo_db: str = ""
    # Prefix of every exchange and queue: lets test runs live beside a running platform.
    bus_nombre: str = "pdr"
    # Shared secret that proves a request came through the gateway. No default on purpose.
    token_interno: SecretStr = Field(min_length=16)
    log_level: str = "INFO"
    puerto: int = 8000
    puerto_metricas: int = 9100
    prefetch: int = 50
    # Attempts of a failing handler before its message is parked, and the wait between them.
    limite_intentos: int = 5
    retraso_reintento_ms: int = 5000

    def topologia(self) -> Topologia:
        return Topologia(self.bus_nombre, self.limite_intentos, self.retraso_reintento_ms)

    def base_de_datos(self, servicio: str) -> str:
        return self.mongo_db or servicio
