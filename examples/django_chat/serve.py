"""Run one worker process of the example site: ``python serve.py [--port N]``.

A stand-in for gunicorn/uWSGI workers that needs nothing beyond the standard library: start
it several times (same DJANGO_SECRET_KEY and DJANGO_SESSION_DIR) and put any load balancer in
front. Prints ``listening on http://127.0.0.1:<port>`` once it accepts connections (port 0,
the default, picks a free one).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socketserver
import sys
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    from chatsite.wsgi import application

    with make_server(
        "127.0.0.1", args.port, application, ThreadingWSGIServer, QuietHandler
    ) as server:
        print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
