"""The scaling policy (herramientas.escalado.decidir) on hand-computed cases, and the Docker
replica built from a container's inspection (pure: no engine needed)."""

from __future__ import annotations

import pytest

from herramientas.escalado import Lectura, Memoria, Politica, decidir, replica

# One worker per 100 ready messages, 1 to 4 workers, 60 s before scaling down.
POLITICA = Politica(minimo=1, maximo=4, mensajes_por_worker=100, enfriamiento_s=60)


@pytest.mark.parametrize(
    ("mensajes", "actuales", "esperados"),
    [
        (0, 1, 1),  # idle: the minimum
        (100, 1, 1),  # exactly one worker's share
        (101, 1, 2),  # one more message needs a second worker
        (250, 1, 3),  # ceil(2.5)
        (1000, 2, 4),  # 10 would be needed: the maximum
        (0, 0, 1),  # below the minimum (all stopped): back to it at once
    ],
)
def test_sube_de_inmediato_segun_la_cola(mensajes: int, actuales: int, esperados: int) -> None:
    decision = decidir(POLITICA, Lectura(mensajes, actuales), actuales, 0.0, Memoria())
    assert decision.workers == esperados
    assert decision.memoria == Memoria()


def test_baja_solo_tras_el_enfriamiento_al_mayor_necesario_en_el_intervalo() -> None:
    memoria = Memoria()
    # t=0: 3 run, 50 messages need 1 → wait; the cool-down starts now.
    d = decidir(POLITICA, Lectura(50, 3), 3, 0.0, memoria)
    assert (d.workers, d.memoria) == (3, Memoria(0.0, 1))
    # t=30: 150 messages need 2 (still fewer than 3) → wait, remembering 2.
    d = decidir(POLITICA, Lectura(150, 3), 3, 30.0, d.memoria)
    assert (d.workers, d.memoria) == (3, Memoria(0.0, 2))
    # t=59.9: empty, but the cool-down is not over.
    d = decidir(POLITICA, Lectura(0, 3), 3, 59.9, d.memoria)
    assert d.workers == 3
    # t=60: over → down to the most needed during it (2), not to the minimum.
    d = decidir(POLITICA, Lectura(0, 3), 3, 60.0, d.memoria)
    assert (d.workers, d.motivo, d.memoria) == (2, "baja", Memoria())
    # Then 2 → 1 needs a cool-down of its own: 61 → 121.
    d = decidir(POLITICA, Lectura(0, 2), 2, 61.0, d.memoria)
    assert (d.workers, d.memoria) == (2, Memoria(61.0, 1))
    d = decidir(POLITICA, Lectura(0, 2), 2, 120.0, d.memoria)
    assert d.workers == 2
    d = decidir(POLITICA, Lectura(0, 2), 2, 121.0, d.memoria)
    assert d.workers == 1


def test_una_subida_durante_el_enfriamiento_lo_reinicia() -> None:
    d = decidir(POLITICA, Lectura(0, 3), 3, 0.0, Memoria())
    assert d.memoria == Memoria(0.0, 1)
    d = decidir(POLITICA, Lectura(400, 3), 3, 50.0, d.memoria)
    assert (d.workers, d.memoria) == (4, Memoria())
    # Empty again at 55: the 60 s count from 55, not from 0.
    d = decidir(POLITICA, Lectura(0, 4), 4, 55.0, d.memoria)
    d = decidir(POLITICA, Lectura(0, 4), 4, 100.0, d.memoria)
    assert d.workers == 4
    d = decidir(POLITICA, Lectura(0, 4), 4, 115.0, d.memoria)
    assert d.workers == 1


def test_no_cuenta_el_enfriamiento_mientras_un_worker_no_consume() -> None:
    # 3 workers, only 2 consumers (one just started): no clock yet.
    d = decidir(POLITICA, Lectura(0, 2), 3, 0.0, Memoria())
    assert (d.workers, d.memoria) == (3, Memoria())
    d = decidir(POLITICA, Lectura(0, 3), 3, 100.0, d.memoria)
    assert d.memoria == Memoria(100.0, 1)
    d = decidir(POLITICA, Lectura(0, 3), 3, 159.0, d.memoria)
    assert d.workers == 3
    d = decidir(POLITICA, Lectura(0, 3), 3, 160.0, d.memoria)
    assert d.workers == 1


def test_minimo_cero_apaga_y_vuelve_con_mensajes() -> None:
    politica = Politica(minimo=0, maximo=2, mensajes_por_worker=10, enfriamiento_s=0)
    assert decidir(politica, Lectura(0, 1), 1, 0.0, Memoria()).workers == 1  # clock starts
    assert decidir(politica, Lectura(0, 1), 1, 0.0, Memoria(0.0, 0)).workers == 0
    assert decidir(politica, Lectura(1, 0), 0, 1.0, Memoria()).workers == 1


@pytest.mark.parametrize(
    "ajustes",
    [
        {"minimo": 3, "maximo": 2},
        {"minimo": -1},
        {"maximo": 0, "minimo": 0},
        {"mensajes_por_worker": 0},
        {"enfriamiento_s": -1},
    ],
)
def test_politica_invalida(ajustes: dict) -> None:
    with pytest.raises(ValueError):
        Politica(**ajustes)


def test_replica_copia_el_contenedor_con_el_numero_siguiente() -> None:
    # Trimmed from `docker inspect` of a compose worker container.
    inspeccion = {
        "Config": {
            "Hostname": "3f2a9c1d0b7e",
            "Image": "reclamos:1.0",
            "Cmd": ["python", "-m", "servicios.derivacion.worker"],
            "Env": ["MONGO_DB=derivacion", "PUERTO_METRICAS=9100"],
            "Labels": {
                "com.docker.compose.project": "reclamos",
                "com.docker.compose.service": "derivacion-worker",
                "com.docker.compose.container-number": "1",
                "com.docker.compose.oneoff": "False",
            },
        },
        "HostConfig": {
            "Memory": 268435456,
            "NanoCpus": 500000000,
            "RestartPolicy": {"Name": "on-failure"},
        },
        "NetworkSettings": {
            "Networks": {
                "reclamos_interna": {
                    "Aliases": ["reclamos-derivacion-worker-1", "derivacion-worker"]
                }
            }
        },
    }
    nombre, cuerpo = replica(inspeccion, 3)
    assert nombre == "reclamos-derivacion-worker-3"
    assert cuerpo["Image"] == "reclamos:1.0"
    assert cuerpo["Cmd"] == ["python", "-m", "servicios.derivacion.worker"]
    assert cuerpo["Env"] == ["MONGO_DB=derivacion", "PUERTO_METRICAS=9100"]
    assert "Hostname" not in cuerpo
    assert cuerpo["Labels"] == {
        "com.docker.compose.project": "reclamos",
        "com.docker.compose.service": "derivacion-worker",
        "com.docker.compose.container-number": "3",
        "com.docker.compose.oneoff": "False",
    }
    assert cuerpo["HostConfig"]["Memory"] == 268435456
    assert cuerpo["NetworkingConfig"] == {
        "EndpointsConfig": {
            "reclamos_interna": {"Aliases": ["reclamos-derivacion-worker-3", "derivacion-worker"]}
        }
    }
    # The inspection it was made from is left as it was.
    assert inspeccion["Config"]["Labels"]["com.docker.compose.container-number"] == "1"
    assert inspeccion["Config"]["Hostname"] == "3f2a9c1d0b7e"
