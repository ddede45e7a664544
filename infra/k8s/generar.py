"""Writes the Kubernetes manifests of infra/k8s/ from compose.yaml, so both deployments run the
same processes with the same commands, databases, secrets and limits.

    .venv/bin/python infra/k8s/generar.py              # rewrite the manifests
    .venv/bin/python infra/k8s/generar.py --comprobar  # exit 1 if they differ from compose.yaml

Every process built from the repository's image (a service's web or worker, the gateway) becomes
a Deployment with probes, requests and limits, an HPA and a PDB; webs and the gateway also get a
Service. RabbitMQ and MongoDB are external (infra/k8s/README.md): their addresses are in the
ConfigMap. tests/unit/test_despliegue.py validates the output with kubernetes-validate.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

RAIZ = Path(__file__).resolve().parents[2]
CARPETA = Path(__file__).resolve().parent
ESPACIO = "reclamos"
IMAGEN = "plataforma-reclamos:0.1.0"
PARTE_DE = "plataforma-reclamos"
SECRETO = "plataforma-secretos"
CERTIFICADO = "reclamos-tls"
DOMINIO = "reclamos.example.gob.pe"  # placeholder: the overlay of each environment sets it
# External dependencies (infra/k8s/README.md): a 3-node RabbitMQ cluster behind one Service and a
# 3-member MongoDB replica set, each in its own namespace.
AMQP_URL = "amqp://rabbitmq.reclamos-datos.svc.cluster.local:5672/%2F"
MONGO_URL = (
    "mongodb://"
    + ",".join(f"mongo-{i}.mongo.reclamos-datos.svc.cluster.local:27017" for i in range(3))
    + "/?replicaSet=rs0&authSource=admin"
)
# Replicas each process may have: at least 2 so a node drain (PDB) never stops a process kind.
REPLICAS = {"web": (2, 6), "worker": (2, 6), "gateway": (2, 8)}
# Environment that is the same in every process (compose's x-entorno-comun without its secrets).
COMUN = ("AMQP_USUARIO", "MONGO_USUARIO", "LOG_LEVEL", "TZ")
CORREO = ("SMTP_PUERTO", "SMTP_USUARIO", "SMTP_STARTTLS", "SMTP_REMITENTE")
RUTA_SECRETOS = "/run/secrets"


class _SinAnclas(yaml.SafeDumper):
    """Every repeated mapping written out in full: a manifest reads without &id001 / *id001."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _etiquetas(nombre: str, tipo: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": nombre,
        "app.kubernetes.io/component": tipo,
        "app.kubernetes.io/part-of": PARTE_DE,
    }


def _cpu(valor: str) -> str:
    return f"{round(float(valor) * 1000)}m"


def _memoria(valor: str) -> str:
    numero, unidad = re.fullmatch(r"(\d+)([MG])", valor).groups()  # type: ignore[union-attr]
    return f"{numero}{unidad}i"


def _por_defecto(valor: str) -> str:
    """compose's "${X:-defecto}" → "defecto" (the value an operator gets without setting X)."""
    coincide = re.fullmatch(r"\$\{\w+:-(.*)\}", valor)
    return coincide.group(1) if coincide else valor


def procesos(compose: dict) -> list[dict[str, Any]]:
    """Every process of the platform's image in compose.yaml, in its order."""
    resultado = []
    for nombre, servicio in compose["services"].items():
        if "build" not in servicio:
            continue
        tipo = "gateway" if nombre == "gateway" else nombre.rsplit("-", 1)[1]
        entorno = servicio["environment"]
        limites = servicio["deploy"]["resources"]["limits"]
        reservas = servicio["deploy"]["resources"].get("reservations", {})
        resultado.append(
            {
                "nombre": nombre,
                "tipo": tipo,
                "comando": servicio["command"],
                "puerto": 9100 if tipo == "worker" else 8000,
                "entorno": entorno,
                "secretos": list(servicio["secrets"]),
                "limites": {"cpu": _cpu(limites["cpus"]), "memory": _memoria(limites["memory"])},
                "peticiones": {
                    "cpu": _cpu(str(float(limites["cpus"]) / 5)),
                    "memory": _memoria(reservas.get("memory", "128M")),
                },
                "gracia": int(servicio["stop_grace_period"].rstrip("s")),
            }
        )
    return resultado


def deployment(p: dict[str, Any]) -> dict:
    nombre, tipo = p["nombre"], p["tipo"]
    entorno = p["entorno"]
    env = [{"name": "MONGO_DB", "value": entorno["MONGO_DB"]}]
    # Secrets as files (the same *_FILE paths as in compose); the rest from the ConfigMaps.
    env += [
        {"name": clave, "value": valor}
        for clave, valor in entorno.items()
        if clave.endswith("_FILE")
    ]
    env_from = [{"configMapRef": {"name": "plataforma-entorno"}}]
    if "SMTP_HOST" in entorno:
        env_from.append({"configMapRef": {"name": "plataforma-correo"}})
    if tipo == "gateway":
        env_from.append({"configMapRef": {"name": "gateway-entorno"}})
    puerto = "metricas" if tipo == "worker" else "http"
    # Webs and the gateway: alive = the process answers, ready = its dependencies answer too.
    # A worker serves only /metrics (prometheus_client): it answers while the process runs.
    vivo, listo = ("/metrics", "/metrics") if tipo == "worker" else ("/alive", "/health")
    etiquetas = _etiquetas(nombre, tipo)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": nombre, "labels": etiquetas},
        "spec": {
            "replicas": REPLICAS[tipo][0],
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": {"app.kubernetes.io/name": nombre}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {
                    "labels": etiquetas,
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(p["puerto"]),
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": p["gracia"],
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "fsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": nombre}},
                        }
                    ],
                    "containers": [
                        {
                            "name": nombre,
                            "image": IMAGEN,
                            "imagePullPolicy": "IfNotPresent",
                            "command": p["comando"],
                            "ports": [
                                {"name": puerto, "containerPort": p["puerto"], "protocol": "TCP"}
                            ],
                            "envFrom": env_from,
                            "env": env,
                            "resources": {"requests": p["peticiones"], "limits": p["limites"]},
                            "startupProbe": {
                                "httpGet": {"path": vivo, "port": puerto},
                                "periodSeconds": 2,
                                "failureThreshold": 30,
                                "timeoutSeconds": 2,
                            },
                            "livenessProbe": {
                                "httpGet": {"path": vivo, "port": puerto},
                                "periodSeconds": 10,
                                "failureThreshold": 3,
                                "timeoutSeconds": 2,
                            },
                            "readinessProbe": {
                                "httpGet": {"path": listo, "port": puerto},
                                "periodSeconds": 10,
                                "failureThreshold": 3,
                                "timeoutSeconds": 5,
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": [
                                {"name": "tmp", "mountPath": "/tmp"},
                                {"name": "secretos", "mountPath": RUTA_SECRETOS, "readOnly": True},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                        {
                            "name": "secretos",
                            "secret": {
                                "secretName": SECRETO,
                                "defaultMode": 0o440,
                                "items": [{"key": s, "path": s} for s in p["secretos"]],
                            },
                        },
                    ],
                },
            },
        },
    }


def servicio(p: dict[str, Any]) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": p["nombre"], "labels": _etiquetas(p["nombre"], p["tipo"])},
        "spec": {
            "selector": {"app.kubernetes.io/name": p["nombre"]},
            "ports": [{"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def hpa(p: dict[str, Any]) -> dict:
    minimo, maximo = REPLICAS[p["tipo"]]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": p["nombre"], "labels": _etiquetas(p["nombre"], p["tipo"])},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": p["nombre"]},
            "minReplicas": minimo,
            "maxReplicas": maximo,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
            # Up at once, down slowly: a burst of reclamos should not make replicas flap.
            "behavior": {
                "scaleDown": {
                    "stabilizationWindowSeconds": 300,
                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                }
            },
        },
    }


def pdb(p: dict[str, Any]) -> dict:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": p["nombre"], "labels": _etiquetas(p["nombre"], p["tipo"])},
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": p["nombre"]}},
        },
    }


def comunes(compose: dict, lista: list[dict[str, Any]]) -> dict[str, list[dict]]:
    """The namespace, the ConfigMaps, the Ingress and the Secret's template."""
    servicios = compose["services"]
    base = servicios["registro-worker"]["environment"]
    correo = servicios["notificaciones-worker"]["environment"]
    gateway = servicios["gateway"]["environment"]
    entorno = {clave: _por_defecto(str(base[clave])) for clave in COMUN}
    entorno |= {
        "AMQP_URL": AMQP_URL,
        "MONGO_URL": MONGO_URL,
        "PUERTO": "8000",
        "PUERTO_METRICAS": "9100",
        "HOST_METRICAS": "0.0.0.0",
    }
    secretos = sorted({s for p in lista for s in p["secretos"]})
    return {
        "namespace.yaml": [
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ESPACIO, "labels": {"app.kubernetes.io/part-of": PARTE_DE}},
            }
        ],
        "configmap.yaml": [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "plataforma-entorno"},
                "data": dict(sorted(entorno.items())),
            },
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "plataforma-correo"},
                "data": {
                    "SMTP_HOST": "smtp.example.gob.pe",
                    **{clave: _por_defecto(str(correo[clave])) for clave in CORREO},
                    "URL_PORTAL": f"https://{DOMINIO}",
                },
            },
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "gateway-entorno"},
                "data": {
                    # The ingress controller's pod network: only it may set X-Forwarded-For.
                    "PROXIES_DE_CONFIANZA": "10.244.0.0/16",
                    "PORTAL_COOKIES_SEGURAS": "true",  # the Ingress ends TLS
                    **{c: v for c, v in gateway.items() if c.startswith("URL_")},
                },
            },
        ],
        "ingress.yaml": [
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {
                    "name": "gateway",
                    "annotations": {
                        # A little more than the gateway's largest body (attachments, 22 MB).
                        "nginx.ingress.kubernetes.io/proxy-body-size": "24m",
                        "nginx.ingress.kubernetes.io/ssl-redirect": "true",
                    },
                },
                "spec": {
                    "ingressClassName": "nginx",
                    "tls": [{"hosts": [DOMINIO], "secretName": CERTIFICADO}],
                    "rules": [
                        {
                            "host": DOMINIO,
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {
                                            "service": {
                                                "name": "gateway",
                                                "port": {"name": "http"},
                                            }
                                        },
                                    }
                                ]
                            },
                        }
                    ],
                },
            }
        ],
        # Not in kustomization.yaml: a template to copy, never values to apply.
        "secretos.plantilla.yaml": [
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": SECRETO},
                "type": "Opaque",
                "stringData": {s: "CAMBIAR" for s in secretos},
            }
        ],
    }


def manifiestos(compose: dict) -> dict[str, str]:
    """File name → its text, for every file this script owns in infra/k8s/."""
    lista = procesos(compose)
    documentos = comunes(compose, lista)
    for p in lista:
        documentos[f"{p['nombre']}.yaml"] = [
            deployment(p),
            *([servicio(p)] if p["tipo"] != "worker" else []),
            hpa(p),
            pdb(p),
        ]
    recursos = [n for n in documentos if n != "secretos.plantilla.yaml"]
    cabecera = "# Generado por infra/k8s/generar.py desde compose.yaml: no se edita a mano.\n"
    textos = {
        nombre: cabecera
        + yaml.dump_all(docs, Dumper=_SinAnclas, sort_keys=False, allow_unicode=True, width=100)
        for nombre, docs in documentos.items()
    }
    textos["kustomization.yaml"] = cabecera + yaml.safe_dump(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "namespace": ESPACIO,
            "resources": recursos,
            # Each environment points this at its registry and release.
            "images": [{"name": IMAGEN.split(":")[0], "newTag": IMAGEN.split(":")[1]}],
        },
        sort_keys=False,
    )
    return textos


def main(argv: list[str]) -> int:
    compose = yaml.safe_load((RAIZ / "compose.yaml").read_text(encoding="utf-8"))
    textos = manifiestos(compose)
    if "--comprobar" in argv:
        distintos = [
            n
            for n, t in textos.items()
            if not (CARPETA / n).exists() or (CARPETA / n).read_text(encoding="utf-8") != t
        ]
        for nombre in distintos:
            print(f"infra/k8s/{nombre} no coincide con compose.yaml", file=sys.stderr)
        return 1 if distintos else 0
    for nombre, texto in textos.items():
        (CARPETA / nombre).write_text(texto, encoding="utf-8")
    print(f"{len(textos)} archivos en infra/k8s/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
