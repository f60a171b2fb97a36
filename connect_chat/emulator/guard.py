"""HTTP middlewares: CORS for the service paths, a locked-down control API, JSON 404/405.

Browser front ends call the Participant Service from any site, so its paths answer CORS for
any ``Origin``. The control API (``/emulator/...``) can end chats and inject faults, so a web
page must not drive it: a request there is refused (403) when its ``Origin`` is present and
neither the emulator's own nor allowed (``control_allowed_origins``), when its ``Host`` is not
one of the emulator's own names (DNS rebinding: a hostile name resolved to 127.0.0.1), and
(415) when a POST/PUT body is not ``application/json`` (a no-cors ``text/plain`` POST needs no
preflight, a JSON one does).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection

from aiohttp import web

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONTROL_PREFIX = "/emulator/"

_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_control(path: str) -> bool:
    return path.startswith(CONTROL_PREFIX) or path == CONTROL_PREFIX.rstrip("/")


def _hostname(host_header: str) -> str:
    """The name part of a ``Host`` header (``[::1]:8000`` -> ``::1``), lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def host_allowed(host_header: str, bound_host: str) -> bool:
    """The ``Host`` names this emulator: loopback names, the bound address, or any address
    literal when bound to every interface. A DNS name other than ``localhost`` never is
    (that is what a rebinding page sends)."""
    name = _hostname(host_header)
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    if _is_ip(name):
        if ipaddress.ip_address(name).is_loopback:
            return True
        if bound_host in ("0.0.0.0", "::", ""):
            return True
    return name == bound_host.lower()


async def read_body(request: web.Request, timeout: float) -> bytes:
    """The whole request body, or ``HTTPRequestTimeout`` if it is not in within ``timeout``
    seconds (a client that sends half a request must not hold a handler forever)."""
    try:
        return await asyncio.wait_for(request.read(), timeout)
    except asyncio.TimeoutError:
        logger.warning("%s %s: body not received in %.1f s", request.method, request.path, timeout)
        raise web.HTTPRequestTimeout() from None


def json_error(status: int, code: str, message: str) -> web.Response:
    """An error in the service's form: JSON ``message``, a bare ``x-amzn-ErrorType``."""
    return web.Response(
        status=status,
        text=json.dumps({"message": message}),
        content_type="application/json",
        headers={"x-amzn-RequestId": str(uuid.uuid4()), "x-amzn-ErrorType": code},
    )


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


class Guard:
    """The middlewares of one emulator (``guard.middlewares`` for ``web.Application``)."""

    def __init__(self, bound_host: str, allowed_origins: Callable[[], Collection[str]]) -> None:
        self.bound_host = bound_host
        self.allowed_origins = allowed_origins

    @property
    def middlewares(self) -> list[Callable[..., Awaitable[web.StreamResponse]]]:
        return [self.errors, self.control, self.cors]

    def _origin_ok(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        origin = origin.rstrip("/")
        own = f"{request.scheme}://{request.host}".lower()
        return origin.lower() == own or origin in self.allowed_origins()

    @web.middleware
    async def control(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Refuse control-API requests a web page (or a rebinding name) could make."""
        if not is_control(request.path):
            return await handler(request)
        if not host_allowed(request.host, self.bound_host):
            logger.warning("control API: refused Host %r", request.host)
            return _refuse(403, "Host not allowed for the emulator control API")
        if not self._origin_ok(request):
            logger.warning("control API: refused Origin %r", request.headers.get("Origin"))
            return _refuse(
                403,
                "Origin not allowed for the emulator control API "
                "(allow it with control_allowed_origins / --control-allow-origin)",
            )
        has_body = request.headers.get("Content-Type") is not None or request.body_exists
        if (
            request.method in ("POST", "PUT")
            and has_body
            and request.content_type != "application/json"
        ):
            return _refuse(415, "The control API takes application/json bodies only")
        return await handler(request)

    @web.middleware
    async def cors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Service paths: answer preflights and expose the AWS headers to any origin. Control
        paths: only to an allowed origin (the control middleware has refused the others)."""
        if request.method == "OPTIONS":
            response: web.StreamResponse = web.Response(status=200)
        else:
            response = await handler(request)
        origin = request.headers.get("Origin")
        if is_control(request.path) and origin is None:
            return response
        if not response.prepared:
            response.headers["Access-Control-Allow-Origin"] = origin or "*"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = request.headers.get(
                "Access-Control-Request-Headers", "*"
            )
            response.headers["Access-Control-Expose-Headers"] = "x-amzn-RequestId, x-amzn-ErrorType"
            if origin is not None:
                response.headers["Vary"] = "Origin"
        return response

    @web.middleware
    async def errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """An unknown path or method gets the service's JSON error form, not aiohttp's text."""
        try:
            return await handler(request)
        except web.HTTPRequestTimeout:
            response = json_error(
                408, "RequestTimeoutException", "The request body was not sent in time"
            )
            response.force_close()
            return response
        except web.HTTPNotFound:
            return json_error(
                404, "UnknownOperationException", f"No operation at {request.method} {request.path}"
            )
        except web.HTTPMethodNotAllowed as exc:
            response = json_error(
                405,
                "UnknownOperationException",
                f"{request.method} is not allowed on {request.path}",
            )
            response.headers["Allow"] = ",".join(sorted(exc.allowed_methods))
            return response
