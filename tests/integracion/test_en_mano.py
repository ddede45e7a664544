"""comun.en_mano against a real store: a document changed several times in a transaction is
written once, reads in between see it changed, and the result is what the same changes, sent one
by one, leave in the store (expected documents written out by hand)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo.database import Database

from comun import almacen
from comun.en_mano import EnMano
from tests.integracion.pedidos import vigilada

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(60)]

MOMENTO = datetime(2026, 12, 7, 15, 30, 1, 123456, tzinfo=UTC)  # microseconds: stored as ms


@pytest.fixture
def vigilado(mongo_url, db: Database):
    db.create_collection("copias")
    with vigilada(mongo_url, db.name) as (visto, pedidos):
        yield visto, pedidos


def test_varios_cambios_a_un_documento_van_en_una_escritura_y_se_leen_de_mano(vigilado, db):
    visto, pedidos = vigilado
    copias = EnMano(visto, "copias")
    db.copias.insert_one({"_id": "R-1", "entidades": ["minsa"], "viejo": 1})
    leidos = []

    def trabajo(s) -> None:
        copias.cambiar("R-1", s, {"$set": {"contacto": {"nombres": "Ana"}}}, upsert=True)
        copias.cambiar("R-1", s, {"$addToSet": {"entidades": "mtc"}})
        copias.cambiar("R-1", s, {"$addToSet": {"entidades": "minsa"}})  # already there
        copias.cambiar("R-1", s, {"$set": {"unidad.id": "ogc", "unidad.en": MOMENTO}})
        copias.cambiar("R-1", s, {"$unset": {"viejo": ""}})
        leidos.append(copias.leer("R-1", s))
        copias.cambiar("R-2", s, {"$set": {"a": 1}, "$setOnInsert": {"creado": True}}, upsert=True)
        copias.cambiar("R-3", s, {"$set": {"a": 1}})  # no such document, no upsert: nothing

    almacen.en_transaccion(visto, trabajo)

    esperado = {
        "_id": "R-1",
        "entidades": ["minsa", "mtc"],
        "contacto": {"nombres": "Ana"},
        "unidad": {"id": "ogc", "en": datetime(2026, 12, 7, 15, 30, 1, 123000, tzinfo=UTC)},
    }
    assert leidos == [esperado]  # read from hand, as the store will hold it
    assert db.copias.find_one({"_id": "R-1"}) == esperado
    assert db.copias.find_one({"_id": "R-2"}) == {"_id": "R-2", "a": 1, "creado": True}
    assert db.copias.find_one({"_id": "R-3"}) is None
    # One read per document, and every change in one request.
    assert pedidos.nombres("copias") == ["find", "find", "find", "update"]
    [escritura] = pedidos.de("update", "copias")
    assert len(escritura["updates"]) == 2


def test_un_cambio_que_choca_con_lo_pendiente_escribe_lo_pendiente_antes(vigilado, db):
    """The store refuses $set of a.b and $unset of a in one update: they go in two, in order."""
    visto, pedidos = vigilado
    copias = EnMano(visto, "copias")

    def trabajo(s) -> None:
        copias.cambiar("R-1", s, {"$set": {"obs.x.texto": "falta el piso"}}, upsert=True)
        copias.cambiar("R-1", s, {"$set": {"obs.x.hasta": MOMENTO}})
        assert copias.leer("R-1", s)["obs"]["x"]["texto"] == "falta el piso"
        copias.cambiar("R-1", s, {"$unset": {"obs.x": ""}})
        copias.cambiar("R-1", s, {"$set": {"obs.y.texto": "otra"}})

    almacen.en_transaccion(visto, trabajo)
    assert db.copias.find_one({"_id": "R-1"}) == {"_id": "R-1", "obs": {"y": {"texto": "otra"}}}
    assert pedidos.nombres("copias") == ["find", "update", "update"]


def test_sin_transaccion_lee_y_escribe_al_momento(vigilado, db):
    visto, pedidos = vigilado
    copias = EnMano(visto, "copias")
    copias.cambiar("R-1", None, {"$set": {"a": 1}}, upsert=True)
    assert db.copias.find_one({"_id": "R-1"}) == {"_id": "R-1", "a": 1}
    assert copias.leer("R-1", None) == {"_id": "R-1", "a": 1}
    assert pedidos.nombres("copias") == ["update", "find"]


def test_una_transaccion_que_falla_no_deja_nada_y_la_siguiente_lee_de_nuevo(vigilado, db):
    visto, _ = vigilado
    copias = EnMano(visto, "copias")

    def falla(s) -> None:
        copias.cambiar("R-1", s, {"$set": {"a": 1}}, upsert=True)
        raise RuntimeError("el manejador falló")

    with pytest.raises(RuntimeError):
        almacen.en_transaccion(visto, falla)
    assert db.copias.find_one({"_id": "R-1"}) is None
    db.copias.insert_one({"_id": "R-1", "b": 2})
    assert almacen.en_transaccion(visto, lambda s: copias.leer("R-1", s)) == {"_id": "R-1", "b": 2}


def test_un_operador_que_no_sigue_se_rechaza_sin_escribir(vigilado, db):
    visto, _ = vigilado
    copias = EnMano(visto, "copias")
    with pytest.raises(ValueError, match=r"\$inc"):
        almacen.en_transaccion(visto, lambda s: copias.cambiar("R-1", s, {"$inc": {"n": 1}}))
    assert db.copias.count_documents({}) == 0


CAMBIOS = [  # a new document, as plazos creates a clock: whichever event comes first
    ({"$set": {"registrado_en": MOMENTO}, "$setOnInsert": {"entidad_id": "minsa"}}, True),
    ({"$set": {"entidad_id": "mtc", "estado": "abierto"}}, False),  # replaces the insert's
    ({"$push": {"obs": {"id": "o1", "en": MOMENTO}}}, True),
    ({"$push": {"obs": {"id": "o1", "en": MOMENTO}}}, True),  # $push repeats, as in the store
    ({"$addToSet": {"entidades": "minsa"}}, False),
    ({"$addToSet": {"entidades": "minsa"}}, False),
    ({"$unset": {"estado": ""}}, False),
    ({"$set": {"estado": "detenido"}, "$setOnInsert": {"nunca": True}}, True),
    ({"$setOnInsert": {"nunca": True}}, True),  # the document exists: nothing at all
]


def test_los_cambios_unidos_dejan_lo_mismo_que_enviados_uno_a_uno(vigilado, db):
    """The store itself is the oracle: the same changes, sent one by one to another document."""
    visto, pedidos = vigilado
    for cambio, upsert in CAMBIOS:
        db.copias.update_one({"_id": "uno-a-uno"}, cambio, upsert=upsert)
    copias = EnMano(visto, "copias")
    leidos = []

    def trabajo(s) -> None:
        for cambio, upsert in CAMBIOS:
            copias.cambiar("en-mano", s, cambio, upsert=upsert)
        leidos.append(copias.leer("en-mano", s))

    almacen.en_transaccion(visto, trabajo)
    esperado = db.copias.find_one({"_id": "uno-a-uno"}, {"_id": 0})
    assert esperado["estado"] == "detenido" and len(esperado["obs"]) == 2  # the oracle ran
    assert db.copias.find_one({"_id": "en-mano"}, {"_id": 0}) == esperado
    assert {k: v for k, v in leidos[0].items() if k != "_id"} == esperado
    assert pedidos.nombres("copias") == ["find", "update"]


def test_solo_set_on_insert_sobre_un_documento_que_existe_no_escribe_nada(vigilado, db):
    visto, pedidos = vigilado
    db.copias.insert_one({"_id": "R-1", "a": 1})
    copias = EnMano(visto, "copias")
    almacen.en_transaccion(
        visto, lambda s: copias.cambiar("R-1", s, {"$setOnInsert": {"b": 2}}, upsert=True)
    )
    assert db.copias.find_one({"_id": "R-1"}) == {"_id": "R-1", "a": 1}
    assert pedidos.nombres("copias") == ["find"]
