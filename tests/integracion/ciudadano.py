"""registro called as the gateway calls it for an anonymous citizen (a reclamo with código +
document), the events of the other services applied with registro's own handlers."""

from __future__ import annotations

from datetime import timedelta

from pymongo.database import Database

from comun import reloj
from comun.consumo import Despachador
from comun.eventos import (
    Datos,
    EntidadActualizada,
    Evento,
    ReclamoDerivado,
    ReclamoObservado,
    SubsanacionAbierta,
    nuevo_evento,
)
from comun.metricas import Metricas
from servicios.registro.manejadores import manejadores
from tests.integracion.servicios import como

DNI = "45678912"
ENTIDAD = {
    "id": "sunat",
    "nombre": "Superintendencia Nacional de Aduanas y de Administración Tributaria",
    "tipo": "organismo",
    "unidades": [
        {
            "id": "atencion",
            "nombre": "Atención al Contribuyente",
            "responsable": {"nombre": "Ana Torres", "email": "ana@sunat.example"},
        }
    ],
    "unidad_por_defecto": "atencion",
}


def hoja() -> dict:
    return {
        "ciudadano": {
            "documento": {"tipo": "dni", "numero": DNI},
            "nombres": "Rosa María",
            "apellidos": "Quispe Huamán",
            "telefono": "987654321",
        },
        "entidad_id": "sunat",
        "ocurrido_en": (reloj.ahora() - timedelta(days=2)).isoformat(),
        "motivo": "tiempo",
        "descripcion": "Esperé tres horas para ser atendida y nadie me dio información.",
        "pedido": "Que mejoren el sistema de turnos.",
        "medio_respuesta": "telefono",
        "acepta_privacidad": True,
    }


class Ciudadano:
    """Calls registro as the gateway does for an anonymous citizen, and plays the other services."""

    def __init__(self, cliente, db: Database) -> None:
        self.cliente = cliente
        self.db = db
        self.despachador = Despachador(db, "registro", manejadores(db), Metricas("registro"))
        self.recibir(
            "catalogo.entidad_actualizada", EntidadActualizada.model_validate({"entidad": ENTIDAD})
        )

    def post(self, ruta: str, cuerpo: dict, clave: str | None = None):
        cabeceras = como("ciudadano", **{"X-Request-Id": "prueba"})
        if clave:
            cabeceras["Idempotency-Key"] = clave
        return self.cliente.post(ruta, json=cuerpo, headers=cabeceras)

    def presentar(self) -> str:
        r = self.post("/reclamos", hoja())
        assert r.status_code == 201, r.get_json()
        codigo = r.get_json()["codigo"]
        self.recibir("reclamo.derivado", self.derivado(), codigo)
        return codigo

    @staticmethod
    def derivado() -> ReclamoDerivado:
        return ReclamoDerivado(
            entidad_id="sunat", unidad_id="atencion", unidad_nombre="Atención", por_regla=False
        )

    def recibir(self, tipo: str, datos: Datos, codigo: str | None = None, **kw) -> Evento:
        evento = nuevo_evento(tipo, datos, fuente="prueba", codigo=codigo, **kw)
        self.despachador(evento, datos)
        return evento

    def observar(self, codigo: str, dias: float = 2) -> Evento:
        observado = self.recibir(
            "reclamo.observado",
            ReclamoObservado(
                entidad_id="sunat",
                unidad_id="atencion",
                observacion="Adjunte copia del ticket de atención que le entregaron.",
            ),
            codigo,
        )
        self.recibir(
            "plazo.subsanacion_abierta",
            SubsanacionAbierta(
                entidad_id="sunat",
                observacion_id=observado.id,
                subsanar_hasta=reloj.ahora() + timedelta(days=dias),
                dias_habiles=2,
                reloj_pausado=True,
            ),
            codigo,
        )
        return observado

    def seguir(self, codigo: str, documento: str = DNI):
        return self.post("/seguimiento", {"codigo": codigo, "numero_documento": documento})

    def subsanar(self, codigo: str, documento: str = DNI, clave: str | None = None, **extra):
        cuerpo = {
            "numero_documento": documento,
            "texto": "Adjunto el ticket número 1234 que me entregaron.",
            "adjuntos": [{"nombre": "ticket.jpg", "tipo_mime": "image/jpeg", "tamano_bytes": 9000}],
            **extra,
        }
        return self.post(f"/reclamos/{codigo}/subsanacion", cuerpo, clave)

    def desistir(self, codigo: str, documento: str = DNI, clave: str | None = None):
        cuerpo = {"numero_documento": documento, "razon": "Ya me atendieron en otra sede."}
        return self.post(f"/reclamos/{codigo}/desistimiento", cuerpo, clave)

    def emitidos(self, tipo: str) -> list[dict]:
        return [d["evento"] for d in self.db.outbox.find({"evento.tipo": tipo})]
