"""Entity webhooks: the entity (its own key) subscribes a URL to its reclamos' events, lists and
deletes its subscriptions, rotates the secret and sees every delivery attempt. notificaciones
keeps them and sends (servicios/notificaciones/webhooks.py)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from gateway.credenciales import Credencial
from gateway.dependencias import ClaveIdempotencia, Internos, requiere
from gateway.modelos import COMUNES, CON_CUERPO, errores
from servicios.notificaciones.schemas import (
    PATRON_ID,
    NuevoWebhook,
    PaginaEntregas,
    SecretoNuevo,
    Webhook,
    WebhookCreado,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=errores(*COMUNES))
Entidad = Annotated[Credencial, Depends(requiere("entidad"))]
WebhookId = Annotated[str, Path(pattern=PATRON_ID, description="Id del webhook (`wh_...`)")]
FIRMA = (
    "Cada evento llega por POST con un cuerpo JSON sin datos personales (`id`, `tipo`, "
    "`ocurrido_en`, `codigo`, `entidad`, `unidad`, `estado`; más `entidad_anterior` en "
    "`reclamo.trasladado` y `adjuntos` —`id`, `nombre`, `tipo_mime`, `bytes`, `sha256` de cada "
    "archivo nuevo— en `reclamo.adjuntado`) y las cabeceras `X-PDR-Evento`, "
    "`X-PDR-Entrega` (igual en cada reintento: descarte repetidos) y `X-PDR-Firma: "
    "t=<unix>,v1=<hex>`, donde v1 es HMAC-SHA256 con el secreto sobre `<t>.<cuerpo exacto>`. "
    "Verifique la firma sobre los bytes recibidos y rechace un `t` de más de 5 minutos. "
    "Responda 2xx; si no, se reintenta con espera exponencial durante 24 horas."
)


class EstadoEntrega(StrEnum):
    pendiente = "pendiente"
    entregada = "entregada"
    fallida = "fallida"
    cancelada = "cancelada"


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreado,
    responses=errores(403, 409, *CON_CUERPO),
    summary="Suscribir una URL a los eventos de los reclamos de la entidad",
    description="Solo con la clave de una entidad (la de una unidad recibe solo los eventos de "
    "su unidad). La URL debe ser https y pública. La respuesta trae el `secreto` de la firma: "
    "se muestra solo esta vez. 409 si la entidad ya tiene el máximo de webhooks activos. " + FIRMA,
)
async def suscribir_webhook(
    nuevo: NuevoWebhook,
    request: Request,
    quien: Entidad,
    internos: Internos,
    idempotencia: ClaveIdempotencia = None,
):
    return await internos.llamar(
        request,
        "notificaciones",
        "POST",
        "/webhooks",
        quien,
        nuevo.model_dump(mode="json"),
        idempotencia=idempotencia,
    )


@router.get(
    "",
    response_model=list[Webhook],
    responses=errores(403),
    summary="Webhooks activos de la entidad",
    description="Sin el secreto, que solo se muestra al crearlo o rotarlo.",
)
async def listar_webhooks(request: Request, quien: Entidad, internos: Internos):
    return await internos.llamar(request, "notificaciones", "GET", "/webhooks", quien)


@router.delete(
    "/{webhook_id}",
    response_model=Webhook,
    responses=errores(403, 404, 422),
    summary="Eliminar un webhook",
    description="Las entregas pendientes se cancelan; las hechas siguen listadas. 404 si no "
    "existe, ya fue eliminado o no es de la entidad.",
)
async def eliminar_webhook(
    webhook_id: WebhookId, request: Request, quien: Entidad, internos: Internos
):
    return await internos.llamar(
        request, "notificaciones", "DELETE", f"/webhooks/{webhook_id}", quien
    )


@router.post(
    "/{webhook_id}/secreto",
    response_model=SecretoNuevo,
    responses=errores(403, 404, *CON_CUERPO),
    summary="Rotar el secreto de la firma",
    description="Un secreto nuevo firma desde el siguiente intento; el anterior deja de valer. "
    "Se muestra solo esta vez. Lo que falle mientras actualiza su receptor se reintenta.",
)
async def rotar_secreto_webhook(
    webhook_id: WebhookId,
    request: Request,
    quien: Entidad,
    internos: Internos,
    idempotencia: ClaveIdempotencia = None,
):
    return await internos.llamar(
        request,
        "notificaciones",
        "POST",
        f"/webhooks/{webhook_id}/secreto",
        quien,
        idempotencia=idempotencia,
    )


@router.get(
    "/{webhook_id}/entregas",
    response_model=PaginaEntregas,
    responses=errores(403, 404, 422),
    summary="Entregas del webhook, con cada intento",
    description="La más reciente primero; cada intento con su hora, estado HTTP y error. "
    "También las de un webhook eliminado. 404 si no es de la entidad.",
)
async def entregas_webhook(
    webhook_id: WebhookId,
    request: Request,
    quien: Entidad,
    internos: Internos,
    estado: Annotated[EstadoEntrega | None, Query()] = None,
    limite: Annotated[int, Query(ge=1, le=200)] = 50,
):
    params: dict = {"limite": limite}
    if estado is not None:
        params["estado"] = estado.value
    return await internos.llamar(
        request,
        "notificaciones",
        "GET",
        f"/webhooks/{webhook_id}/entregas",
        quien,
        params=params,
    )
