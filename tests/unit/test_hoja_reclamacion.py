"""Contrato de la hoja de reclamación y código del reclamo (DESIGN.md §2.1)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from servicios.registro.dominio import ALFABETO, codigo_valido, normalizar_codigo, nuevo_codigo
from servicios.registro.schemas import (
    MAX_BYTES_ADJUNTOS,
    Canal,
    ConsultaSeguimiento,
    HojaReclamacion,
    MedioRespuesta,
    ReclamoRegistrado,
    digito_verificador_ruc,
    errores_legibles,
    ruc_valido,
)

LIMA = timezone(timedelta(hours=-5))
MB = 1024 * 1024


def hoja_valida() -> dict[str, Any]:
    return {
        "ciudadano": {
            "documento": {"tipo": "dni", "numero": "45678912"},
            "nombres": "  Rosa María ",
            "apellidos": "Quispe Huamán",
            "email": "rosa.quispe@example.pe",
            "telefono": "987 654 321",
        },
        "entidad_id": "sunat",
        "sede": "Centro de Servicios al Contribuyente, Av. Garcilaso de la Vega 1472, Lima",
        "ocurrido_en": (datetime.now(LIMA) - timedelta(days=2)).isoformat(),
        "motivo": "tiempo",
        "descripcion": "Esperé tres horas para ser atendida y nadie me dio información.",
        "pedido": "Que mejoren el sistema de turnos.",
        "medio_respuesta": "email",
        "acepta_privacidad": True,
        "adjuntos": [{"nombre": "ticket.jpg", "tipo_mime": "image/jpeg", "tamano_bytes": 350_000}],
    }


def errores(datos: dict[str, Any]) -> list[dict[str, str]]:
    """Errores legibles de validar ``datos``; falla si la hoja es aceptada."""
    with pytest.raises(ValidationError) as exc:
        HojaReclamacion.model_validate(datos)
    return errores_legibles(exc.value)


def unico_error(datos: dict[str, Any]) -> dict[str, str]:
    encontrados = errores(datos)
    assert len(encontrados) == 1, encontrados
    return encontrados[0]


def adjunto(tamano: int = 1000, **cambios: Any) -> dict[str, Any]:
    base = {"nombre": "prueba.pdf", "tipo_mime": "application/pdf", "tamano_bytes": tamano}
    return base | cambios


# --- Hoja válida ---------------------------------------------------------------------------------


def test_hoja_valida_pasa_y_normaliza() -> None:
    hoja = HojaReclamacion.model_validate(hoja_valida())

    assert hoja.canal is Canal.virtual
    assert hoja.medio_respuesta is MedioRespuesta.email
    assert hoja.ciudadano.nombres == "Rosa María"  # espacios recortados
    assert hoja.ciudadano.telefono == "987654321"  # separadores eliminados
    assert hoja.ocurrido_en.utcoffset() == timedelta(0)  # guardada en UTC
    assert hoja.ciudadano.representante is None
    assert len(hoja.adjuntos) == 1


def test_hoja_valida_sobrevive_ida_y_vuelta_por_json() -> None:
    hoja = HojaReclamacion.model_validate(hoja_valida())
    assert HojaReclamacion.model_validate_json(hoja.model_dump_json()) == hoja


def test_ocurrido_en_se_convierte_a_utc_sin_cambiar_el_instante() -> None:
    datos = hoja_valida()
    datos["ocurrido_en"] = "2025-03-14T10:30:00-05:00"
    hoja = HojaReclamacion.model_validate(datos)
    assert hoja.ocurrido_en == datetime(2025, 3, 14, 15, 30, tzinfo=UTC)
    assert hoja.ocurrido_en.tzinfo == UTC


@pytest.mark.parametrize(
    ("tipo", "numero", "guardado"),
    [
        ("dni", "00012345", "00012345"),
        ("ruc", "20131312955", "20131312955"),
        ("carne_extranjeria", "001234567", "001234567"),
        ("carne_extranjeria", "abc123456789", "ABC123456789"),
        ("pasaporte", "x12345", "X12345"),
    ],
)
def test_documentos_validos(tipo: str, numero: str, guardado: str) -> None:
    datos = hoja_valida()
    datos["ciudadano"]["documento"] = {"tipo": tipo, "numero": numero}
    hoja = HojaReclamacion.model_validate(datos)
    assert hoja.ciudadano.documento.numero == guardado


# --- Documento -----------------------------------------------------------------------------------


def test_digito_verificador_ruc_calculado_a_mano() -> None:
    # 2 0 1 3 1 3 1 2 9 5 × 5 4 3 2 7 6 5 4 3 2 = 10+0+3+6+7+18+5+8+27+10 = 94
    # 94 % 11 = 6 → 11 - 6 = 5
    assert digito_verificador_ruc("2013131295") == 5
    assert ruc_valido("20131312955")
    assert not ruc_valido("20131312956")


@pytest.mark.parametrize(
    ("resto_esperado", "primeros_diez", "digito"),
    [
        # 2×5 + 3×4 = 22 → 22 % 11 = 0 → 11 - 0 = 11 → 1
        (11, "2000000300", 1),
        # 2×5 + 1×2 = 12 → 12 % 11 = 1 → 11 - 1 = 10 → 0
        (10, "2000000001", 0),
    ],
)
def test_digito_verificador_ruc_casos_10_y_11(
    resto_esperado: int, primeros_diez: str, digito: int
) -> None:
    suma = sum(
        int(d) * p for d, p in zip(primeros_diez, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True)
    )
    assert 11 - suma % 11 == resto_esperado
    assert digito_verificador_ruc(primeros_diez) == digito
    assert ruc_valido(primeros_diez + str(digito))


@pytest.mark.parametrize(
    ("tipo", "numero", "mensaje"),
    [
        ("dni", "4567891", "El DNI debe tener 8 dígitos"),
        ("dni", "456789123", "El DNI debe tener 8 dígitos"),
        ("dni", "4567891A", "El DNI debe tener 8 dígitos"),
        ("dni", "٤٥٦٧٨٩١٢", "El DNI debe tener 8 dígitos"),  # dígitos no ASCII
        ("ruc", "20131312956", "El RUC no es válido: su dígito verificador no corresponde"),
        ("ruc", "2013131295", "El RUC debe tener 11 dígitos"),
        ("ruc", "30131312955", "El RUC debe empezar por 10, 15, 17 o 20"),
        ("carne_extranjeria", "12345678", "El carné de extranjería debe tener entre 9 y 12"),
        ("carne_extranjeria", "1234567890123", "El carné de extranjería debe tener entre 9"),
        ("pasaporte", "12345", "El pasaporte debe tener entre 6 y 12"),
        ("pasaporte", "AB-12345", "El pasaporte debe tener entre 6 y 12"),
    ],
)
def test_documento_invalido(tipo: str, numero: str, mensaje: str) -> None:
    datos = hoja_valida()
    datos["ciudadano"]["documento"] = {"tipo": tipo, "numero": numero}
    error = unico_error(datos)
    assert error["campo"] == "ciudadano.documento.numero"
    assert error["mensaje"].startswith(mensaje)


def test_tipo_de_documento_desconocido() -> None:
    datos = hoja_valida()
    datos["ciudadano"]["documento"]["tipo"] = "licencia"
    error = unico_error(datos)
    assert error["campo"] == "ciudadano.documento.tipo"
    assert "'dni'" in error["mensaje"] and " o 'ruc'" in error["mensaje"]


# --- Ciudadano -----------------------------------------------------------------------------------


def test_menor_sin_representante() -> None:
    datos = hoja_valida()
    datos["ciudadano"]["es_menor"] = True
    error = unico_error(datos)
    assert error == {
        "campo": "ciudadano.representante",
        "mensaje": "Si el ciudadano es menor de edad debe indicar a su representante",
    }


def test_menor_con_representante_pasa() -> None:
    datos = hoja_valida()
    datos["ciudadano"]["es_menor"] = True
    datos["ciudadano"]["representante"] = {
        "documento": {"tipo": "dni", "numero": "12345678"},
        "nombres": "Juan",
        "apellidos": "Quispe Mamani",
    }
    hoja = HojaReclamacion.model_validate(datos)
    assert hoja.ciudadano.representante is not None
    assert hoja.ciudadano.representante.documento.numero == "12345678"


def test_representante_de_quien_no_es_menor() -> None:
    datos = hoja_valida()
    datos["ciudadano"]["representante"] = {
        "documento": {"tipo": "dni", "numero": "12345678"},
        "nombres": "Juan",
        "apellidos": "Quispe",
    }
    assert unico_error(datos)["campo"] == "ciudadano.representante"


def test_documento_del_representante_se_valida() -> None:
    datos = hoja_valida()
    datos["ciudadano"]["es_menor"] = True
    datos["ciudadano"]["representante"] = {
        "documento": {"tipo": "dni", "numero": "1234"},
        "nombres": "Juan",
        "apellidos": "Quispe",
    }
    assert unico_error(datos)["campo"] == "ciudadano.representante.documento.numero"


def test_sin_ningun_contacto() -> None:
    datos = hoja_valida()
    del datos["ciudadano"]["email"]
    datos["ciudadano"]["telefono"] = None
    datos["medio_respuesta"] = "sede"
    assert unico_error(datos) == {
        "campo": "ciudadano",
        "mensaje": "Debe indicar al menos un correo electrónico o un teléfono",
    }


@pytest.mark.parametrize("contacto", ["email", "telefono"])
def test_basta_un_contacto(contacto: str) -> None:
    datos = hoja_valida()
    del datos["ciudadano"][contacto]
    datos["medio_respuesta"] = "sede"
    HojaReclamacion.model_validate(datos)


def test_email_invalido() -> None:
    datos = hoja_valida()
    datos["ciudadano"]["email"] = "rosa.quispe@"
    assert unico_error(datos) == {
        "campo": "ciudadano.email",
        "mensaje": "El correo electrónico no es válido",
    }


@pytest.mark.parametrize("telefono", ["123456", "+1234567890123456", "98765432a", "++51987654321"])
def test_telefono_invalido(telefono: str) -> None:
    datos = hoja_valida()
    datos["ciudadano"]["telefono"] = telefono
    assert unico_error(datos)["campo"] == "ciudadano.telefono"


def test_nombres_en_blanco() -> None:
    datos = hoja_valida()
    datos["ciudadano"]["nombres"] = "   "
    assert unico_error(datos) == {"campo": "ciudadano.nombres", "mensaje": "No puede estar vacío"}


# --- Respuesta, privacidad, fechas ---------------------------------------------------------------


def test_respuesta_por_email_sin_email() -> None:
    datos = hoja_valida()
    del datos["ciudadano"]["email"]
    assert unico_error(datos) == {
        "campo": "medio_respuesta",
        "mensaje": "Para responder por correo debe indicar su correo electrónico",
    }


def test_respuesta_por_telefono_sin_telefono() -> None:
    datos = hoja_valida()
    del datos["ciudadano"]["telefono"]
    datos["medio_respuesta"] = "telefono"
    assert unico_error(datos)["campo"] == "medio_respuesta"


def test_privacidad_no_aceptada() -> None:
    datos = hoja_valida()
    datos["acepta_privacidad"] = False
    assert unico_error(datos) == {
        "campo": "acepta_privacidad",
        "mensaje": "Debe aceptar el aviso de privacidad",
    }


def test_privacidad_omitida() -> None:
    datos = hoja_valida()
    del datos["acepta_privacidad"]
    assert unico_error(datos) == {"campo": "acepta_privacidad", "mensaje": "Campo obligatorio"}


def test_fecha_futura() -> None:
    datos = hoja_valida()
    datos["ocurrido_en"] = (datetime.now(LIMA) + timedelta(hours=1)).isoformat()
    assert unico_error(datos) == {
        "campo": "ocurrido_en",
        "mensaje": "La fecha y hora de los hechos no puede ser futura",
    }


@pytest.mark.parametrize("numero", [0, 1741966200, 1741966200.5, True])
def test_fecha_como_numero_se_rechaza(numero: object) -> None:
    # Found by the fuzzer: `"ocurrido_en": 0` filed a reclamo "ocurrido" on 1970-01-01.
    datos = hoja_valida()
    datos["ocurrido_en"] = numero
    assert unico_error(datos) == {
        "campo": "ocurrido_en",
        "mensaje": "Debe ser una fecha y hora ISO-8601 con zona horaria (p. ej. "
        "2025-03-14T10:30:00-05:00)",
    }


def test_fecha_dentro_de_la_tolerancia_de_reloj() -> None:
    datos = hoja_valida()
    datos["ocurrido_en"] = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    HojaReclamacion.model_validate(datos)


@pytest.mark.parametrize(
    "ocurrido_en", ["2025-03-14T10:30:00", datetime(2025, 3, 14, 10, 30)], ids=["texto", "datetime"]
)
def test_fecha_sin_zona_horaria(ocurrido_en: object) -> None:
    datos = hoja_valida()
    datos["ocurrido_en"] = ocurrido_en
    error = unico_error(datos)
    assert error["campo"] == "ocurrido_en"
    assert error["mensaje"].startswith("La fecha y hora debe incluir la zona horaria")


# --- Adjuntos ------------------------------------------------------------------------------------


def test_diez_adjuntos_pasan_once_no() -> None:
    datos = hoja_valida()
    datos["adjuntos"] = [adjunto() for _ in range(10)]
    HojaReclamacion.model_validate(datos)

    datos["adjuntos"].append(adjunto())
    assert unico_error(datos) == {
        "campo": "adjuntos",
        "mensaje": "Debe tener como máximo 10 elementos",
    }


def test_adjuntos_suman_exactamente_20_mb() -> None:
    datos = hoja_valida()
    datos["adjuntos"] = [adjunto(10 * MB), adjunto(10 * MB)]
    HojaReclamacion.model_validate(datos)


def test_adjuntos_suman_mas_de_20_mb() -> None:
    datos = hoja_valida()
    datos["adjuntos"] = [adjunto(10 * MB), adjunto(10 * MB + 1)]
    assert unico_error(datos) == {
        "campo": "adjuntos",
        "mensaje": "Los adjuntos no pueden sumar más de 20 MB",
    }


def test_un_adjunto_de_mas_de_20_mb() -> None:
    datos = hoja_valida()
    datos["adjuntos"] = [adjunto(), adjunto(MAX_BYTES_ADJUNTOS + 1)]
    error = unico_error(datos)
    assert error["campo"] == "adjuntos.1.tamano_bytes"
    assert error["mensaje"] == f"Debe ser menor o igual que {MAX_BYTES_ADJUNTOS}"


@pytest.mark.parametrize(
    ("cambio", "campo"),
    [
        ({"tipo_mime": "application/zip"}, "adjuntos.0.tipo_mime"),
        ({"tamano_bytes": 0}, "adjuntos.0.tamano_bytes"),
        ({"nombre": ""}, "adjuntos.0.nombre"),
        ({"contenido": "JVBERi0xLjQ="}, "adjuntos.0.contenido"),
    ],
)
def test_adjunto_invalido(cambio: dict[str, Any], campo: str) -> None:
    datos = hoja_valida()
    datos["adjuntos"] = [adjunto(**cambio)]
    assert unico_error(datos)["campo"] == campo


# --- Campos desconocidos, entidad ----------------------------------------------------------------


def test_campo_desconocido_en_la_raiz() -> None:
    datos = hoja_valida()
    datos["estado"] = "respondido"
    assert unico_error(datos) == {"campo": "estado", "mensaje": "Campo no permitido"}


def test_campo_desconocido_anidado() -> None:
    datos = hoja_valida()
    datos["ciudadano"]["documento"]["pais"] = "PE"
    assert unico_error(datos) == {
        "campo": "ciudadano.documento.pais",
        "mensaje": "Campo no permitido",
    }


@pytest.mark.parametrize("entidad_id", ["s", "SUNAT", "sunat_lima", "sunat lima", "a" * 41, ""])
def test_entidad_id_invalida(entidad_id: str) -> None:
    datos = hoja_valida()
    datos["entidad_id"] = entidad_id
    assert unico_error(datos) == {"campo": "entidad_id", "mensaje": "Formato no válido"}


@pytest.mark.parametrize("entidad_id", ["pcm", "consulado-pe-madrid", "a" * 40, "12"])
def test_entidad_id_valida(entidad_id: str) -> None:
    datos = hoja_valida()
    datos["entidad_id"] = entidad_id
    assert HojaReclamacion.model_validate(datos).entidad_id == entidad_id


def test_varios_errores_a_la_vez_y_sin_prefijo_de_pydantic() -> None:
    datos = hoja_valida()
    datos["ciudadano"]["documento"]["numero"] = "123"
    datos["acepta_privacidad"] = False
    datos["motivo"] = "maltrato"
    encontrados = errores(datos)
    assert {e["campo"] for e in encontrados} == {
        "ciudadano.documento.numero",
        "acepta_privacidad",
        "motivo",
    }
    assert not any(e["mensaje"].startswith("Value error") for e in encontrados)


def test_errores_no_revelan_el_valor_recibido() -> None:
    datos = hoja_valida()
    datos["ciudadano"]["documento"]["numero"] = "4567891"
    assert "4567891" not in repr(errores(datos))


# --- Código del reclamo --------------------------------------------------------------------------

FORMATO = re.compile(r"R-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")


def test_codigo_tiene_formato_legible_y_sin_caracteres_ambiguos() -> None:
    codigo = nuevo_codigo()
    assert FORMATO.fullmatch(codigo), codigo
    assert codigo_valido(codigo)
    assert not set(codigo[2:].replace("-", "")) & set("0O1ILUV")


def test_codigos_unicos_en_10000_y_usan_todo_el_alfabeto() -> None:
    codigos = [nuevo_codigo() for _ in range(10_000)]
    assert len(set(codigos)) == len(codigos)
    assert all(codigo_valido(c) for c in codigos)
    simbolos = Counter("".join(c[2:].replace("-", "") for c in codigos))
    # 120.000 símbolos sobre 29: cada uno sale ~4.100 veces; que falte uno es imposible salvo
    # que el generador no use todo el alfabeto.
    assert set(simbolos) == set(ALFABETO)
    assert not set(ALFABETO) & set("0O1ILUV")


@pytest.mark.parametrize(
    "escrito",
    [
        "R-7KQ2-M9XD-4HTP",
        "r-7kq2-m9xd-4htp",
        "R7KQ2M9XD4HTP",
        " r 7kq2 m9xd 4htp ",
        "7KQ2-M9XD-4HTP",
        "7kq2m9xd4htp",
        "R-7KQ2M9-XD4HTP",
    ],
)
def test_normalizar_codigo(escrito: str) -> None:
    assert normalizar_codigo(escrito) == "R-7KQ2-M9XD-4HTP"


def test_normalizar_es_idempotente_y_respeta_codigos_que_empiezan_por_r() -> None:
    codigo = "R-RRRR-M9XD-4HTP"
    assert normalizar_codigo(codigo) == codigo
    assert normalizar_codigo("RRRRRM9XD4HTP") == codigo
    assert normalizar_codigo("RRRRM9XD4HTP") == codigo  # sin prefijo
    assert normalizar_codigo(normalizar_codigo(codigo)) == codigo


@pytest.mark.parametrize(
    "codigo",
    [
        "r-7kq2-m9xd-4htp",  # sin normalizar
        "R7KQ2M9XD4HTP",  # sin normalizar
        "R-7KQ2-M9XD-4HT",  # corto
        "R-7KQ2-M9XD-4HTPP",  # largo
        "X-7KQ2-M9XD-4HTP",  # prefijo
        "R-7KQ0-M9XD-4HTP",  # cero
        "R-7KQO-M9XD-4HTP",  # O
        "R-7KQ1-M9XD-4HTP",  # uno
        "R-7KQL-M9XD-4HTP",  # L
        "R-7KQV-M9XD-4HTP",  # V (suena como B)
        "",
    ],
)
def test_codigo_invalido(codigo: str) -> None:
    assert not codigo_valido(codigo)


# --- Seguimiento y respuesta ---------------------------------------------------------------------


def test_consulta_seguimiento_normaliza() -> None:
    consulta = ConsultaSeguimiento(codigo=" r7kq2 m9xd 4htp", numero_documento=" abc123456 ")
    assert consulta.codigo == "R-7KQ2-M9XD-4HTP"
    assert consulta.numero_documento == "ABC123456"


@pytest.mark.parametrize(
    ("datos", "campo"),
    [
        ({"codigo": "R-7KQ0-M9XD-4HTP", "numero_documento": "45678912"}, "codigo"),
        ({"codigo": "12345", "numero_documento": "45678912"}, "codigo"),
        ({"codigo": "R-7KQ2-M9XD-4HTP", "numero_documento": "123"}, "numero_documento"),
        ({"codigo": "R-7KQ2-M9XD-4HTP"}, "numero_documento"),
    ],
)
def test_consulta_seguimiento_invalida(datos: dict[str, str], campo: str) -> None:
    with pytest.raises(ValidationError) as exc:
        ConsultaSeguimiento.model_validate(datos)
    assert [e["campo"] for e in errores_legibles(exc.value)] == [campo]


def test_reclamo_registrado() -> None:
    codigo = nuevo_codigo()
    respuesta = ReclamoRegistrado(
        codigo=codigo,
        registrado_en=datetime.now(UTC),
        mensaje=f"Su reclamo fue registrado con el código {codigo}.",
    )
    assert ReclamoRegistrado.model_validate_json(respuesta.model_dump_json()) == respuesta
