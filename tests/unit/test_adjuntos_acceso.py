"""Who may download a reclamo's files follows derivado, reasignado and trasladado by their time,
whatever order the bus delivers them in (registro's handlers on a real store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gridfs import GridFSBucket

from comun.consumo import Despachador
from comun.eventos import (
    Datos,
    ReclamoDerivado,
    ReclamoReasignado,
    ReclamoTrasladado,
    nuevo_evento,
)
from comun.metricas import Metricas
from servicios.registro import adjuntos, dependencias
from servicios.registro.manejadores import manejadores

CODIGO = "R-7KQ2-M9XD-4HTP"
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def derivado(entidad: str, unidad: str) -> ReclamoDerivado:
    return ReclamoDerivado(
        entidad_id=entidad, unidad_id=unidad, unidad_nombre=unidad, por_regla=False
    )


def test_el_acceso_sigue_al_ultimo_evento_no_al_ultimo_en_llegar(db):
    dependencias.preparar(db)
    db.reclamos.insert_one(
        {"_id": CODIGO, "entidad_id": "minsa", "estado": "registrado", "estado_en": T0}
    )
    despachar = Despachador(db, "registro", manejadores(db), Metricas("registro"))

    def aplicar(tipo: str, datos: Datos, minutos: float) -> None:
        evento = nuevo_evento(
            tipo, datos, fuente="prueba", codigo=CODIGO, ocurrido_en=T0 + timedelta(minutes=minutos)
        )
        despachar(evento, datos)

    def acceso() -> dict:
        return db.reclamos.find_one({"_id": CODIGO})["acceso"]

    traslado = ReclamoTrasladado(
        entidad_anterior_id="minsa", entidad_id="munilima", entidad_nombre="Lima", razon="Otra."
    )
    # The new entity's derivado, then the traslado before it, then the first derivado: late.
    aplicar("reclamo.derivado", derivado("munilima", "mesa-de-partes"), 10.001)
    aplicar("reclamo.trasladado", traslado, 10)
    aplicar("reclamo.derivado", derivado("minsa", "atencion-ciudadano"), 1)
    assert acceso() == {"entidad_id": "munilima", "unidad_id": "mesa-de-partes"}

    reasignado = ReclamoReasignado(
        entidad_id="munilima",
        unidad_anterior_id="mesa-de-partes",
        unidad_id="licencias",
        unidad_nombre="Licencias",
        razon="Es de licencias.",
    )
    aplicar("reclamo.reasignado", reasignado, 20)
    assert acceso() == {"entidad_id": "munilima", "unidad_id": "licencias"}
    # A traslado alone (its derivado still on its way): the entity, no unit yet.
    otro = traslado.model_copy(update={"entidad_anterior_id": "munilima", "entidad_id": "sunat"})
    aplicar("reclamo.trasladado", otro, 30)
    assert acceso() == {"entidad_id": "sunat", "unidad_id": None}


def test_preparar_barre_archivos_sin_confirmar(db):
    dependencias.preparar(db)
    bucket = GridFSBucket(db, bucket_name=adjuntos.BUCKET)
    viejo = bucket.upload_from_stream("a.pdf", b"%PDF-", metadata={"confirmado": False})
    nuevo = bucket.upload_from_stream("b.pdf", b"%PDF-", metadata={"confirmado": False})
    guardado = bucket.upload_from_stream("c.pdf", b"%PDF-", metadata={"confirmado": True})
    hace_dos_horas = datetime.now(UTC) - timedelta(hours=2)
    db["adjuntos.files"].update_many(
        {"_id": {"$in": [viejo, guardado]}}, {"$set": {"uploadDate": hace_dos_horas}}
    )
    assert adjuntos.barrer(db, datetime.now(UTC)) == 1
    quedan = {d["_id"] for d in db["adjuntos.files"].find()}
    assert quedan == {nuevo, guardado}
    assert db["adjuntos.chunks"].count_documents({"files_id": viejo}) == 0
