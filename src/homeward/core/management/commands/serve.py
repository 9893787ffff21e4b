"""Serve the web app (waitress) and a background worker until Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class Command(BaseCommand):
    help = "Serve the web app and a background worker on 127.0.0.1:8000 until Ctrl-C."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
        parser.add_argument("--threads", type=int, default=8, help="request threads (default 8)")
        parser.add_argument("--no-worker", action="store_true", help="do not start a background worker")

    def handle(self, *args: Any, host: str, port: int, threads: int, no_worker: bool, **options: Any) -> None:
        if not port_free(host, port):
            raise CommandError(f"port {port} on {host} is in use; stop the program using it or choose --port")
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("the database is not up to date; run `homeward migrate` first")
        if settings.PRODUCTION:
            call_command("collectstatic", interactive=False, verbosity=0)
        from waitress import serve

        from homeward.wsgi import application

        worker = None
        if not no_worker:
            worker = subprocess.Popen([sys.executable, "-m", "homeward.cli", "worker"], env=os.environ.copy())
        self.stdout.write(f"Homeward is serving on http://{host}:{port}/  (Ctrl-C stops it)")
        try:
            serve(application, host=host, port=port, threads=threads, ident="Homeward", _quiet=True)
        except KeyboardInterrupt:
            pass
        finally:
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
            self.stdout.write("Homeward stopped.")
