"""What an integrator writes with the client generated from the gateway's document
(`reclamos_pdr_client`, openapi-python-client): the whole life of a citizen's reclamo and the
entity's work on it, and every refusal on the way, through the generated functions and models
only. No URL, no JSON and no dict is written by hand here.

The module is type-checked with `mypy --strict` against the generated package
(tests/e2e/test_cliente_generado.py), so a field the document declares loosely (optional, `Any`,
a string instead of a date or an enum) shows up as a type error here before it bites anyone. Every
response goes through `modelo`, `error` or `lista`: the body must have been parsed into the
generated model of its status (`Error` for every refusal), never left `None` or a raw dict.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from typing import TypeVar

import httpx
from reclamos_pdr_client import AuthenticatedClient, Client
from reclamos_pdr_client.api.bandeja import (
    atender,
    listar_bandeja,
    observar,
    responder_reclamo,
    ver_reclamo,
)
from reclamos_pdr_client.api.encuestas import (
    indices_satisfaccion,
    responder_encuesta,
    ver_encuesta,
)
from reclamos_pdr_client.api.operacion import dias_no_laborables, plazo
from reclamos_pdr_client.api.reclamos import desistir, entidades, registrar, seguir, subsanar
from reclamos_pdr_client.models import (
    Adjunto,
    Canal,
    Ciudadano,
    ConsultaSeguimiento,
    Desistimiento,
    Documento,
    Encuesta,
    EncuestaRespondida,
    EntidadPublica,
    EntradaBandeja,
    Error,
    EstadoEncuesta,
    EstadoPlazo,
    EstadoReclamo,
    HojaReclamacion,
    Impulsor,
    IndiceSatisfaccion,
    MedioRespuesta,
    Motivo,
    Observacion,
    PaginaBandeja,
    Plazo,
    ReclamoRegistrado,
    Respuesta,
    RespuestaEncuesta,
    RespuestaEncuestaImpulsores,
    Seguimiento,
    Subsanacion,
    SubsanacionRecibida,
    TipoDocumento,
    TipoMime,
    Tramite,
)
from reclamos_pdr_client.types import Response

R = TypeVar("R")
M = TypeVar("M")
T = TypeVar("T")

# The gateway's body limit (AjustesGateway.max_cuerpo_bytes): a hoja over it is a 413.
MAX_CUERPO_BYTES = 1_000_000
# Failed lookups of one código an hour (AjustesGateway.limite_fallos_seguimiento_por_hora; the
# e2e platform keeps the default): the next one is a 429.
LIMITE_FALLOS_SEGUIMIENTO_POR_HORA = 10
ESPERA_S = 60.0


# --- Parsed or nothing ---------------------------------------------------------------------------


def modelo(respuesta: Response[R], tipo: type[M], estado: HTTPStatus) -> M:
    """The body of a response with status `estado`, parsed into the generated model `tipo`."""
    cuerpo = respuesta.content[:600]
    assert respuesta.status_code == estado, (
        f"{respuesta.status_code} en vez de {estado}: {cuerpo!r}"
    )
    parsed = respuesta.parsed
    assert isinstance(parsed, tipo), (
        f"{estado}: {type(parsed).__name__} en vez de {tipo.__name__}: {cuerpo!r}"
    )
    return parsed


def lista(respuesta: Response[R], tipo: type[M]) -> list[M]:
    """A 200 whose body is a list, every item parsed into `tipo`."""
    parsed = respuesta.parsed
    assert respuesta.status_code == HTTPStatus.OK, respuesta.content[:600]
    assert isinstance(parsed, list), f"{type(parsed).__name__} en vez de una lista"
    elementos: list[M] = []
    for elemento in parsed:
        assert isinstance(elemento, tipo), f"{type(elemento).__name__} en vez de {tipo.__name__}"
        elementos.append(elemento)
    return elementos


def error(respuesta: Response[R], estado: HTTPStatus, codigo: str | None = None) -> Error:
    """A refusal: the generated `Error`, with its stable code and a message for a person."""
    rechazo = modelo(respuesta, Error, estado)
    assert rechazo.error and rechazo.mensaje, rechazo
    if codigo is not None:
        assert rechazo.error == codigo, rechazo
    return rechazo


def campos(rechazo: Error) -> set[str]:
    """The fields a 422 names (`detalle` is optional and nullable in `Error`)."""
    return {d.campo for d in rechazo.detalle} if isinstance(rechazo.detalle, list) else set()


def hasta(condicion: Callable[[], T | None], que: str, plazo_s: float = ESPERA_S) -> T:
    """Polls `condicion` until it returns something; events travel through the broker."""
    limite = time.monotonic() + plazo_s
    while (valor := condicion()) is None:
        assert time.monotonic() < limite, f"no ocurrió en {plazo_s:.0f} s: {que}"
        time.sleep(0.1)
    return valor


# --- Clients -------------------------------------------------------------------------------------


class Fragmentar:
    """An httpx request hook: on the next request only, the body goes chunked
    (`Transfer-Encoding`) instead of with its `Content-Length`, which the generated client always
    sends."""

    def __init__(self) -> None:
        self.pendiente = False

    def una_vez(self) -> None:
        self.pendiente = True

    def __call__(self, request: httpx.Request) -> None:
        if self.pendiente:
            self.pendiente = False
            del request.headers["Content-Length"]
            request.headers["Transfer-Encoding"] = "chunked"


def ciudadano(url: str, fragmentar: Fragmentar) -> Client:
    """The citizen: no key."""
    return Client(
        base_url=url,
        timeout=httpx.Timeout(20.0),
        raise_on_unexpected_status=True,
        httpx_args={"event_hooks": {"request": [fragmentar]}},
    )


def personal(url: str, clave: str) -> AuthenticatedClient:
    """An entity's staff (or a supervisor, or an operator): the key as is in X-API-Key."""
    return AuthenticatedClient(
        base_url=url,
        token=clave,
        auth_header_name="X-API-Key",
        prefix="",
        timeout=httpx.Timeout(20.0),
        raise_on_unexpected_status=True,
    )


def clave_idempotencia() -> str:
    return str(uuid.uuid4())


# --- The citizen's side --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reclamo:
    codigo: str
    documento: str
    email: str


def hoja(
    entidad_id: str,
    documento: str,
    email: str,
    canal: Canal = Canal.VIRTUAL,
    descripcion: str = "Los ascensores del pabellón de consulta externa no funcionan hace semanas.",
) -> HojaReclamacion:
    """A citizen's hoja, built with the generated models."""
    return HojaReclamacion(
        ciudadano=Ciudadano(
            documento=Documento(tipo=TipoDocumento.DNI, numero=documento),
            nombres="Rosa",
            apellidos="Condori Mamani",
            email=email,
        ),
        entidad_id=entidad_id,
        canal=canal,
        sede="Hospital Nacional Arzobispo Loayza",
        ocurrido_en=datetime.now(UTC) - timedelta(days=2),
        motivo=Motivo.INFRAESTRUCTURA,
        descripcion=descripcion,
        pedido="Que se reparen los ascensores y se me responda por escrito.",
        medio_respuesta=MedioRespuesta.EMAIL,
        acepta_privacidad=True,
    )


def nuevo_documento() -> str:
    return f"{uuid.uuid4().int % 10**8:08d}"


def presentar(publico: Client, entidad_id: str) -> Reclamo:
    """Files a reclamo of a new citizen; the same request retried with its key files nothing."""
    documento = nuevo_documento()
    email = f"ciudadano-{uuid.uuid4().hex[:12]}@prueba.pe"
    datos, idempotencia = hoja(entidad_id, documento, email), clave_idempotencia()
    respuesta = registrar.sync_detailed(client=publico, body=datos, idempotency_key=idempotencia)
    registrado = modelo(respuesta, ReclamoRegistrado, HTTPStatus.CREATED)
    assert isinstance(registrado.registrado_en, datetime) and registrado.registrado_en.tzinfo
    otra_vez = registrar.sync_detailed(client=publico, body=datos, idempotency_key=idempotencia)
    assert modelo(otra_vez, ReclamoRegistrado, HTTPStatus.CREATED).codigo == registrado.codigo
    return Reclamo(registrado.codigo, documento, email)


def seguimiento(publico: Client, reclamo: Reclamo) -> Seguimiento:
    consulta = ConsultaSeguimiento(codigo=reclamo.codigo, numero_documento=reclamo.documento)
    return modelo(seguir.sync_detailed(client=publico, body=consulta), Seguimiento, HTTPStatus.OK)


def esperar_seguimiento(
    publico: Client, reclamo: Reclamo, condicion: Callable[[Seguimiento], bool], que: str
) -> Seguimiento:
    def mirar() -> Seguimiento | None:
        visto = seguimiento(publico, reclamo)
        return visto if condicion(visto) else None

    return hasta(mirar, f"{reclamo.codigo}: {que}")


def hojas_rechazadas(publico: Client, fragmentar: Fragmentar, entidad_id: str) -> None:
    """What the gateway refuses before anything is filed: 422, 413, 411 and 403."""
    documento, email = nuevo_documento(), f"rechazada-{uuid.uuid4().hex[:8]}@prueba.pe"

    mala = hoja(entidad_id, "123", email)
    rechazo = error(
        registrar.sync_detailed(client=publico, body=mala), HTTPStatus.UNPROCESSABLE_ENTITY
    )
    assert rechazo.error == "datos_invalidos" and campos(rechazo) == {"ciudadano.documento.numero"}

    enorme = hoja(entidad_id, documento, email, descripcion="x" * (MAX_CUERPO_BYTES + 1))
    respuesta = registrar.sync_detailed(client=publico, body=enorme)
    error(respuesta, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "cuerpo_muy_grande")

    fragmentar.una_vez()
    respuesta = registrar.sync_detailed(client=publico, body=hoja(entidad_id, documento, email))
    assert not fragmentar.pendiente
    error(respuesta, HTTPStatus.LENGTH_REQUIRED, "largo_requerido")

    presencial = hoja(entidad_id, documento, email, canal=Canal.PRESENCIAL)
    error(registrar.sync_detailed(client=publico, body=presencial), HTTPStatus.FORBIDDEN)


# --- The entity's side ---------------------------------------------------------------------------


def esperar_entrada(
    entidad: AuthenticatedClient, codigo: str, condicion: Callable[[EntradaBandeja], bool], que: str
) -> EntradaBandeja:
    def mirar() -> EntradaBandeja | None:
        respuesta = ver_reclamo.sync_detailed(codigo, client=entidad)
        if respuesta.status_code == HTTPStatus.NOT_FOUND:  # not routed yet
            error(respuesta, HTTPStatus.NOT_FOUND)
            return None
        vista = modelo(respuesta, EntradaBandeja, HTTPStatus.OK)
        return vista if condicion(vista) else None

    return hasta(mirar, f"{codigo}: {que}")


def bandeja_completa(entidad: AuthenticatedClient, por_pagina: int) -> list[PaginaBandeja]:
    """Every page of the entity's bandeja, following the cursor until it ends."""
    paginas: list[PaginaBandeja] = []
    cursor: str | None = None
    while True:
        respuesta = listar_bandeja.sync_detailed(client=entidad, limite=por_pagina, cursor=cursor)
        pagina = modelo(respuesta, PaginaBandeja, HTTPStatus.OK)
        assert len(pagina.items) <= por_pagina
        paginas.append(pagina)
        if pagina.siguiente is None:
            return paginas
        assert len(paginas) < 10_000, "el cursor no termina"
        cursor = pagina.siguiente


def respuestas_de_encuesta(**cambios: int) -> RespuestaEncuesta:
    impulsores = RespuestaEncuestaImpulsores()
    for impulsor in Impulsor:
        impulsores[impulsor.value] = cambios.get(impulsor.value, 4)
    return RespuestaEncuesta(satisfaccion=4, resuelto=True, impulsores=impulsores)


# --- The flows -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Acceso:
    """Where the platform is and who acts: the entity the citizen complains to, another one,
    and how the citizen gets the survey's token (by mail: código and address → token)."""

    url: str
    entidad_id: str
    clave_entidad: str
    clave_otra_entidad: str
    token_de_encuesta: Callable[[str, str], str]


def flujo_completo(acceso: Acceso) -> None:
    """A citizen files, tracks, answers an observación (subsanación) and the survey; another
    desists; the entity reads its bandeja page by page, observes, attends, answers and reads its
    reports. Every rechazo on the way is an `Error`: 401, 403, 404, 409, 411, 413, 422, 429."""
    fragmentar = Fragmentar()
    with (
        ciudadano(acceso.url, fragmentar) as publico,
        personal(acceso.url, acceso.clave_entidad) as entidad,
        personal(acceso.url, acceso.clave_otra_entidad) as otra,
        personal(acceso.url, "pdr_clave_que_no_existe") as impostor,
    ):
        # The citizen finds the entity and is refused what the gateway will not file.
        catalogo = lista(entidades.sync_detailed(client=publico), EntidadPublica)
        assert acceso.entidad_id in {e.id for e in catalogo}
        hojas_rechazadas(publico, fragmentar, acceso.entidad_id)

        # Two reclamos: one lives its whole life, the other is desisted.
        reclamo = presentar(publico, acceso.entidad_id)
        desistido = presentar(publico, acceso.entidad_id)
        derivado(publico, reclamo, acceso.entidad_id)

        # The entity: its bandeja, and nobody else's; no key that does not verify.
        esperar_entrada(entidad, reclamo.codigo, lambda e: e.vence_en is not None, "en la bandeja")
        error(ver_reclamo.sync_detailed(reclamo.codigo, client=otra), HTTPStatus.NOT_FOUND)
        error(listar_bandeja.sync_detailed(client=impostor), HTTPStatus.UNAUTHORIZED)
        # A key that does not verify is refused on the public routes too, not downgraded.
        error(entidades.sync_detailed(client=impostor), HTTPStatus.UNAUTHORIZED)
        error(dias_no_laborables.sync_detailed(client=entidad), HTTPStatus.FORBIDDEN)

        observado_y_subsanado(publico, entidad, reclamo)
        atendido_y_respondido(entidad, reclamo)
        bandeja_y_plazo(entidad, otra, reclamo, desistido)
        encuesta_respondida(publico, reclamo, acceso.token_de_encuesta)
        indice_de_la_entidad(entidad, acceso.entidad_id)
        desistimiento(publico, desistido)
        documento_adivinado(publico, desistido)


def derivado(publico: Client, reclamo: Reclamo, entidad_id: str) -> None:
    """Routed with its deadline; a wrong document sees nothing; nothing to subsanar yet."""
    visto = esperar_seguimiento(
        publico,
        reclamo,
        lambda s: s.estado == EstadoReclamo.DERIVADO and s.vence_en is not None,
        "derivado y con plazo",
    )
    assert isinstance(visto.fecha_recepcion, date)
    assert isinstance(visto.vence_en, datetime)
    assert visto.entidad.id == entidad_id and visto.reloj_pausado is False
    assert next(h.estado for h in visto.historial if h.estado) == EstadoReclamo.REGISTRADO

    ajeno = ConsultaSeguimiento(codigo=reclamo.codigo, numero_documento=nuevo_documento())
    error(seguir.sync_detailed(client=publico, body=ajeno), HTTPStatus.NOT_FOUND)
    antes_de_tiempo = Subsanacion(
        numero_documento=reclamo.documento, texto="Envío el expediente 2026-77 que piden."
    )
    tarde = subsanar.sync_detailed(reclamo.codigo, client=publico, body=antes_de_tiempo)
    error(tarde, HTTPStatus.CONFLICT)


def observado_y_subsanado(publico: Client, entidad: AuthenticatedClient, reclamo: Reclamo) -> None:
    """The entity observes; the citizen sees what is missing and answers it in time."""
    falta = "Adjunte la boleta de la atención y precise el piso del pabellón."
    observado = observar.sync_detailed(
        reclamo.codigo,
        client=entidad,
        body=Observacion(observacion=falta),
        idempotency_key=clave_idempotencia(),
    )
    assert modelo(observado, EntradaBandeja, HTTPStatus.OK).estado == EstadoReclamo.OBSERVADO
    visto = esperar_seguimiento(
        publico,
        reclamo,
        lambda s: s.estado == EstadoReclamo.OBSERVADO and s.subsanar_hasta is not None,
        "observado, con plazo para subsanar",
    )
    assert visto.observacion == falta and visto.reloj_pausado is True

    boleta = Adjunto(nombre="boleta.pdf", tipo_mime=TipoMime.APPLICATIONPDF, tamano_bytes=182_000)
    texto = "Adjunto la boleta 001-2345; fue en el tercer piso del pabellón."
    subsanacion = Subsanacion(numero_documento=reclamo.documento, texto=texto, adjuntos=[boleta])
    subsanado = subsanar.sync_detailed(
        reclamo.codigo, client=publico, body=subsanacion, idempotency_key=clave_idempotencia()
    )
    assert modelo(subsanado, Tramite, HTTPStatus.OK).estado == EstadoReclamo.SUBSANADO

    vista = esperar_entrada(
        entidad,
        reclamo.codigo,
        lambda e: e.estado == EstadoReclamo.SUBSANADO,
        "subsanado en la bandeja",
    )
    assert isinstance(vista.subsanacion, SubsanacionRecibida), vista.subsanacion
    assert vista.subsanacion.texto == texto
    assert isinstance(vista.subsanacion.adjuntos, list)
    assert [a.nombre for a in vista.subsanacion.adjuntos] == ["boleta.pdf"]


def atendido_y_respondido(entidad: AuthenticatedClient, reclamo: Reclamo) -> None:
    """The entity attends (once) and answers."""
    atendido = atender.sync_detailed(
        reclamo.codigo, client=entidad, idempotency_key=clave_idempotencia()
    )
    assert modelo(atendido, EntradaBandeja, HTTPStatus.OK).estado == EstadoReclamo.EN_ATENCION
    otra_vez = atender.sync_detailed(
        reclamo.codigo, client=entidad, idempotency_key=clave_idempotencia()
    )
    error(otra_vez, HTTPStatus.CONFLICT, "transicion_invalida")

    texto = "Se contrató el mantenimiento de los ascensores; estarán operativos el lunes."
    respuesta = responder_reclamo.sync_detailed(
        reclamo.codigo,
        client=entidad,
        body=Respuesta(texto=texto),
        idempotency_key=clave_idempotencia(),
    )
    respondido = modelo(respuesta, EntradaBandeja, HTTPStatus.OK)
    assert respondido.estado == EstadoReclamo.RESPONDIDO and respondido.respuesta == texto
    assert isinstance(respondido.respondido_en, datetime)


def bandeja_y_plazo(
    entidad: AuthenticatedClient, otra: AuthenticatedClient, reclamo: Reclamo, desistido: Reclamo
) -> None:
    """The bandeja page by page (both reclamos, each once); the deadline stopped by the answer,
    which another entity does not see."""

    def con_ambos() -> list[PaginaBandeja] | None:
        paginas = bandeja_completa(entidad, por_pagina=1)
        codigos = [e.codigo for p in paginas for e in p.items]
        assert len(codigos) == len(set(codigos)), codigos
        return paginas if {reclamo.codigo, desistido.codigo} <= set(codigos) else None

    assert len(hasta(con_ambos, "los dos reclamos en la bandeja")) >= 2

    def detenido() -> Plazo | None:
        visto = modelo(plazo.sync_detailed(reclamo.codigo, client=entidad), Plazo, HTTPStatus.OK)
        return visto if visto.estado == EstadoPlazo.DETENIDO else None

    detenido_en = hasta(detenido, "el plazo detenido por la respuesta")
    assert isinstance(detenido_en.fecha_recepcion, date)
    assert detenido_en.dentro_del_plazo is True
    error(plazo.sync_detailed(reclamo.codigo, client=otra), HTTPStatus.NOT_FOUND)


def encuesta_respondida(
    publico: Client, reclamo: Reclamo, token_de_encuesta: Callable[[str, str], str]
) -> None:
    """The survey, by the link in the mail: once, complete; it closes the reclamo."""
    token = token_de_encuesta(reclamo.codigo, reclamo.email)
    encuesta = modelo(ver_encuesta.sync_detailed(token, client=publico), Encuesta, HTTPStatus.OK)
    assert encuesta.estado == EstadoEncuesta.PENDIENTE and encuesta.codigo == reclamo.codigo
    assert encuesta.preguntas.additional_properties
    desconocida = ver_encuesta.sync_detailed(token[::-1], client=publico)
    error(desconocida, HTTPStatus.NOT_FOUND)

    incompleta = respuestas_de_encuesta()
    del incompleta.impulsores[Impulsor.CONFIANZA.value]
    sin_confianza = responder_encuesta.sync_detailed(token, client=publico, body=incompleta)
    error(sin_confianza, HTTPStatus.UNPROCESSABLE_ENTITY, "datos_invalidos")
    completa = respuestas_de_encuesta(tiempo=3, trato=5)
    respondida = responder_encuesta.sync_detailed(token, client=publico, body=completa)
    assert modelo(respondida, EncuestaRespondida, HTTPStatus.OK).codigo == reclamo.codigo
    otra_vez = responder_encuesta.sync_detailed(token, client=publico, body=completa)
    error(otra_vez, HTTPStatus.CONFLICT)

    cerrado = esperar_seguimiento(
        publico, reclamo, lambda s: s.estado == EstadoReclamo.CERRADO, "cerrado por la encuesta"
    )
    assert [h.estado for h in cerrado.historial if h.estado] == [
        EstadoReclamo.REGISTRADO,
        EstadoReclamo.DERIVADO,
        EstadoReclamo.OBSERVADO,
        EstadoReclamo.SUBSANADO,
        EstadoReclamo.EN_ATENCION,
        EstadoReclamo.RESPONDIDO,
        EstadoReclamo.CERRADO,
    ]


def indice_de_la_entidad(entidad: AuthenticatedClient, entidad_id: str) -> None:
    """The survey feeds the entity's satisfaction index."""

    def con_respuestas() -> IndiceSatisfaccion | None:
        indices = lista(indices_satisfaccion.sync_detailed(client=entidad), IndiceSatisfaccion)
        propios = [i for i in indices if i.entidad_id == entidad_id]
        return propios[0] if propios and propios[0].respuestas >= 1 else None

    indice = hasta(con_respuestas, "la encuesta en el índice de satisfacción")
    assert 1 <= indice.satisfaccion <= 5 and 0 <= indice.porcentaje_resueltos <= 100
    assert set(indice.impulsores.additional_properties) == {i.value for i in Impulsor}


def desistimiento(publico: Client, desistido: Reclamo) -> None:
    """The other citizen desists, once, with the right document only."""
    razon = "La entidad ya resolvió mi problema por otra vía."
    ajeno = Desistimiento(numero_documento=nuevo_documento(), razon=razon)
    error(
        desistir.sync_detailed(desistido.codigo, client=publico, body=ajeno), HTTPStatus.NOT_FOUND
    )
    propio = Desistimiento(numero_documento=desistido.documento, razon=razon)
    hecho = desistir.sync_detailed(
        desistido.codigo, client=publico, body=propio, idempotency_key=clave_idempotencia()
    )
    assert modelo(hecho, Tramite, HTTPStatus.OK).estado == EstadoReclamo.DESISTIDO
    otra_vez = desistir.sync_detailed(desistido.codigo, client=publico, body=propio)
    error(otra_vez, HTTPStatus.CONFLICT)


def documento_adivinado(publico: Client, reclamo: Reclamo) -> None:
    """Guessing the document of a código: a 404 each time, until a 429 with Retry-After."""
    consulta = ConsultaSeguimiento(codigo=reclamo.codigo, numero_documento=nuevo_documento())
    for _ in range(LIMITE_FALLOS_SEGUIMIENTO_POR_HORA + 1):
        intento = seguir.sync_detailed(client=publico, body=consulta)
        if intento.status_code == HTTPStatus.TOO_MANY_REQUESTS:
            break
        error(intento, HTTPStatus.NOT_FOUND)
    error(intento, HTTPStatus.TOO_MANY_REQUESTS, "demasiadas_solicitudes")
    assert int(intento.headers["Retry-After"]) > 0, intento.headers
