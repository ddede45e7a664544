"""gunicorn settings for every internal service (`gunicorn -c python:comun.gunicorn_conf`).

One process with threads: Prometheus counters stay in one process (no multiprocess mode), and an
operator scales a service with more replicas rather than more gunicorn workers.
"""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PUERTO', '8000')}"
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("HILOS", "8"))
timeout = 30
graceful_timeout = 10
accesslog = None  # request logs come from the app, without paths that carry códigos
# No control socket (gunicornc): nobody uses it, and its default path ($XDG_RUNTIME_DIR or
# ~/.gunicorn/gunicorn.ctl) is one file shared by every gunicorn of the user, so the five
# services' processes would take it from each other (and a read-only image cannot create it).
control_socket_disable = True
