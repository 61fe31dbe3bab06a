"""The HTTP edge: one entrypoint class for every route, and the one place where an outcome
becomes a response.

- Every response carries `X-Correlation-Id` (the client's own, when it sent a sane one). The id,
  and an `Idempotency-Key` as `request_id`, go to the services as nameko context data, so every
  RPC, event and log line of the request carries it. Context data never comes from any other
  client header: nameko's own header pass-through is not used.
- A refusal (`shared.errors`) becomes `{"error": {code, message, fields, correlation_id}}` with
  the status of `domain.http_status`; anything else is a 500 with the same shape and the
  correlation id, never a trace (the trace goes to the log, under that id).
- Each request is counted and timed for /metrics and written as one JSON access-log line.
"""

import csv
import io
import json
import logging
import re
import time
import uuid
from functools import partial

from eventlet.event import Event
from marshmallow import ValidationError
from nameko.exceptions import RemoteError
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from pymongo.errors import DuplicateKeyError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from services.gateway import domain, metrics
from shared.context import ACTOR, CORRELATION_ID
from shared.errors import CommandRefused
from shared.rpc import structured

log = logging.getLogger("gateway.access")
errors_log = logging.getLogger("gateway.errors")

CORRELATION_HEADER = "X-Correlation-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
JSON_TYPE = "application/json; charset=utf-8"


def correlation_id_of(request):
    given = request.headers.get(CORRELATION_HEADER, "")
    return given if SANE_ID.match(given) else uuid.uuid4().hex


def context_data_of(request, correlation_id):
    data = {CORRELATION_ID: correlation_id}
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None:
        if not SANE_ID.match(key):
            raise domain.malformed("Idempotency-Key: 1 to 100 of A-Z a-z 0-9 . _ : -", "Idempotency-Key")
        data["request_id"] = key
    return data


MAX_BODY_BYTES = 64 * 1024  # documented: a larger body is refused with 413 before it is parsed
BODY_METHODS = ("POST", "PUT", "PATCH")


class PayloadTooLarge(CommandRefused):
    code = "payload_too_large"
    http_status = 413


class UnsupportedMediaType(CommandRefused):
    code = "unsupported_media_type"
    http_status = 415


def read_body(request):
    """The JSON object of a request body ({} when there is none); 400/413/415 otherwise."""
    if request.method not in BODY_METHODS:
        return {}
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes", {"body": ["too large"]})
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes", {"body": ["too large"]})
    if not raw.strip():
        return {}
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send JSON: Content-Type: application/json",
                                   {"content-type": [f"{request.mimetype or 'none'} is not JSON"]})
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise domain.malformed("the body is not valid UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise domain.malformed("the body must be a JSON object")
    return data


def load(schema, data):
    """Load with a marshmallow schema; field errors become InvalidInput (422)."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise structured(exc) from None


def read_query(request, schema_cls):
    """The query string, typed and bounded by the route's schema, as JSON-ready values."""
    if schema_cls is None:
        if request.args:
            raise domain.InvalidInput("no query parameters here",
                                      {k: ["unknown field"] for k in request.args})
        return {}
    repeated = [k for k, v in request.args.lists() if len(v) > 1]
    if repeated:
        raise domain.InvalidInput("a parameter is given more than once", {k: ["repeated"] for k in repeated})
    loaded = load(schema_cls(), request.args.to_dict())
    # A filter not given is left out, not sent as null: the service applies its own default.
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in loaded.items() if v is not None}


def csv_response(rows, columns, filename, complete=True):
    """UTF-8 CSV with a BOM (spreadsheets then read Chinese right); nested values as JSON."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    headers = {"Content-Disposition": f'attachment; filename="{filename}.csv"',
               "X-Export-Complete": "true" if complete else "false"}
    return Response("\ufeff" + out.getvalue(), headers=headers, content_type="text/csv; charset=utf-8")


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def json_response(payload, status=200, headers=None):
    return Response(json.dumps(payload, ensure_ascii=False, default=str), status=status,
                    headers=headers, content_type=JSON_TYPE)


def error_body(exc, correlation_id):
    """(status, body) for any exception: the one error-mapping point."""
    if isinstance(exc, RemoteError):  # a service failed in a way it did not mean to
        exc = RuntimeError(exc.exc_type)
    exc = structured(exc)  # the gateway's own schemas and unique keys, as the kit maps them in RPCs
    status = domain.http_status(exc)
    if isinstance(exc, CommandRefused):
        error = {"code": exc.code, "message": exc.message, "fields": exc.fields}
    else:
        error = {"code": "internal_error", "fields": {},
                 "message": f"something went wrong on our side; quote {correlation_id}"}
    error["correlation_id"] = correlation_id
    return status, {"error": error}


def error_response(exc, correlation_id):
    status, body = error_body(exc, correlation_id)
    if status >= 500 and not getattr(exc, "retriable", False):
        errors_log.error("request failed: %r", exc, exc_info=exc, extra={"correlation_id": correlation_id})
    headers = {}
    if getattr(exc, "retry_after", None) or getattr(exc, "retriable", False):
        headers["Retry-After"] = str(getattr(exc, "retry_after", None) or 1)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="sunshine"'
    return json_response(body, status, headers)


def finish(request, response, correlation_id, route_name, started, actor=None):
    """What every response gets, matched or not: the id header, metrics, the access log."""
    response.headers[CORRELATION_HEADER] = correlation_id
    elapsed = time.perf_counter() - started
    metrics.observe_request(request.method, route_name, response.status_code, elapsed)
    log.info("%s %s %s", request.method, request.path, response.status_code,
             extra={"correlation_id": correlation_id, "service": "gateway", "http_method": request.method,
                    "route": route_name, "status": response.status_code, "ms": round(elapsed * 1000, 1),
                    "actor_id": (actor or {}).get("id"), "actor_role": (actor or {}).get("role")})
    return response


class JsonWsgiApp(WsgiApp):
    """nameko's WSGI app, with JSON 404 / 405 for requests no route matches."""

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except HTTPException as exc:
            correlation_id = correlation_id_of(request)
            code = {404: "not_found", 405: "method_not_allowed"}.get(exc.code, "bad_request")
            body = {"error": {"code": code, "message": exc.description or exc.name, "fields": {},
                              "correlation_id": correlation_id}}
            headers = {"Allow": ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) else {}
            response = finish(request, json_response(body, exc.code, headers), correlation_id,
                              "unmatched", time.perf_counter())
            return response(environ, start_response)
        request.path_values = values
        return provider.handle_request(request)(environ, start_response)


class JsonWebServer(WebServer):
    def get_wsgi_app(self):
        return JsonWsgiApp(self)

    def get_wsgi_server(self, sock, wsgi_app, **kwargs):
        server = super().get_wsgi_server(sock, wsgi_app, **kwargs)
        server.log_output = False  # the gateway writes its own JSON access log
        return server


EXPECTED = (CommandRefused, ValidationError, DuplicateKeyError)


class Api(HttpRequestHandler):
    """`@api("GET", "/v1/incidents", route=...)`: one HTTP route, errors mapped in one place.

    With `route=` (a row of the route table), the method gets it as its `route` argument."""

    server = JsonWebServer()

    def __init__(self, method, url, route=None, **kwargs):
        self.route = route
        # refusals are expected outcomes: nameko logs them as one warning line, not an error trace
        kwargs.setdefault("expected_exceptions", EXPECTED)
        super().__init__(method, url, **kwargs)

    @property
    def route_name(self):
        return self.url

    def get_entrypoint_parameters(self, request):
        kwargs = dict(request.path_values)
        if self.route is not None:
            kwargs["route"] = self.route
        return (request,), kwargs

    def handle_request(self, request):
        started = time.perf_counter()
        request.shallow = False
        correlation_id = correlation_id_of(request)
        seen = {}
        try:
            context_data = context_data_of(request, correlation_id)
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            event = Event()
            self.container.spawn_worker(self, args, kwargs, context_data=context_data,
                                        handle_result=partial(self._handle_result, event, seen))
            response = self.response_from_result(event.wait())
        except Exception as exc:
            response = error_response(exc, correlation_id)
        return finish(request, response, correlation_id, self.route_name, started, seen.get("actor"))

    def _handle_result(self, event, seen, worker_ctx, result, exc_info):
        seen["actor"] = worker_ctx.data.get(ACTOR)
        event.send(result, exc_info)
        return result, exc_info

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        status, payload = result if isinstance(result, tuple) else (200, result)
        return json_response(payload, status)


api = Api.decorator
