"""The OpenAPI 3 document at /openapi.json, generated (apispec) from the route table and the
marshmallow schemas the services and the gateway load with, and a plain server-rendered page of
it at /docs (Jinja2, no script, nothing fetched from elsewhere)."""

import re
from functools import lru_cache
from pathlib import Path

import jinja2
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls, resolve_schema_instance
from werkzeug.wrappers import Response

from services.gateway import domain, routes, web
from services.gateway import schemas as gs

TITLE = "Sunshine Cloud (阳光云) API"
VERSION = "1.0.0"
ERROR_STATUSES = {400: "Malformed request (not JSON, not an object, bad header)",
                  429: "Login locked after repeated failures: wait Retry-After seconds",
                  401: "No valid token", 403: "Your role or grid may not do this",
                  404: "Not found, or not yours to see", 409: "Conflicts with the current state",
                  413: f"Body larger than {web.MAX_BODY_BYTES} bytes", 415: "Body is not application/json",
                  422: "Fields fail their schema: `fields` names each with its reasons",
                  503: "Busy: send the same request again after Retry-After",
                  504: "A service did not answer in time"}


def schema_name(schema):
    cls = resolve_schema_cls(schema)
    parts = cls.__module__.split(".")
    owner = parts[1] if parts[0] == "services" and len(parts) > 1 else parts[-1]
    name = f"{owner}.{cls.__name__}"
    instance = resolve_schema_instance(schema)
    if instance.exclude:
        name += "-without-" + "-".join(sorted(instance.exclude))
    return name


def path_of(rule):
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def _responses(status, answer, csv=False, public=False):
    ok = {"description": "OK", "content": {"application/json": {"schema": answer}}}
    if csv:
        ok["content"]["text/csv"] = {"schema": {"type": "string"}}
    responses = {str(status): ok}
    for code, text in ERROR_STATUSES.items():
        if public and code == 403:
            continue
        responses[str(code)] = {"description": text, "content": {"application/json": {"schema": "Error"}}}
    return responses


def _operation(summary, status, answer, query=None, body=None, path_names=(), csv=False, public=False,
               tag="gateway", roles=None, operation_id=None):
    op = {"summary": summary, "tags": [tag], "operationId": operation_id,
          "responses": _responses(status, answer, csv, public)}
    params = [{"in": "path", "name": n, "required": True,
               "schema": {"type": "string", "minLength": 1, "maxLength": 40, "pattern": "^[A-Za-z0-9_.-]+$"}}
              for n in path_names]
    if query is not None:
        params.append({"in": "query", "schema": query})
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if public:
        op["security"] = []
    if roles is not None:
        op["x-roles"] = {role: rule for role, rule in sorted(roles.items())}
        op["description"] = "Roles: " + ", ".join(f"{r} ({rule})" for r, rule in sorted(roles.items()))
    return op


OWN_OPERATIONS = [  # (method, path, summary, status, answer, query, body, public)
    ("post", "/v1/auth/login", "Log in: a bearer token", 200, gs.Session, None, gs.Login, True),
    ("post", "/v1/auth/logout", "Log out: this token is revoked", 200, gs.Item, None, None, False),
    ("get", "/v1/me", "Who the token stands for", 200, gs.Me, None, None, False),
    ("post", "/v1/accounts", "Create an account (community admin, operator)", 201, gs.Account, None,
     gs.CreateAccount, False),
    ("get", "/v1/accounts", "Accounts (community admin, operator)", 200, gs.Items, gs.AccountQuery, None,
     False),
    ("post", "/v1/accounts/<username>/deactivate", "Deactivate an account; its tokens stop working", 200,
     gs.Account, None, None, False),
    ("put", "/v1/accounts/<username>/password", "Change a password; earlier tokens stop working", 200,
     gs.Item, None, gs.ChangePassword, False),
    ("get", "/health", "The gateway answers and reaches its database", 200, gs.Health, None, None, True),
]


@lru_cache(maxsize=1)
def build():
    spec = APISpec(title=TITLE, version=VERSION, openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin(schema_name_resolver=schema_name)],
                   info={"description": "Every error answers `{\"error\": {code, message, fields, "
                                        "correlation_id}}`; every response carries X-Correlation-Id. "
                                        "Send `Idempotency-Key` to make a retried command safe."})
    spec.components.schema("Error", schema=gs.Error)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.options["security"] = [{"bearer": []}]
    by_path = {}
    for method, rule, summary, status, answer, query, body, public in OWN_OPERATIONS:
        names = re.findall(r"<([a-z_]+)>", rule)
        op_id = "gateway_" + re.sub(r"[^a-z]+", "_", f"{method}{rule}").strip("_")
        by_path.setdefault(path_of(rule), {})[method] = _operation(
            summary, status, answer, query, body, names, public=public, operation_id=op_id)
    for route in routes.ROUTES:
        names = re.findall(r"<([a-z_]+)>", route.path)
        query = route.query
        by_path.setdefault(path_of(route.path), {})[route.method.lower()] = _operation(
            route.summary, route.status, route.answer, query, route.body, names, csv=bool(route.csv),
            tag=route.service, roles=route.roles, operation_id=f"{route.service}_{route.rpc}")
    for path, operations in by_path.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def document():
    return build()


@lru_cache(maxsize=1)
def _template():
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=True)
    return env.get_template("docs.html")


def page():
    doc = build()
    groups = {}
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            groups.setdefault(op["tags"][0], []).append({"method": method.upper(), "path": path, **op})
    html = _template().render(title=TITLE, version=VERSION, groups=groups, errors=ERROR_STATUSES,
                              schemas=doc["components"]["schemas"], roles=domain.ROLES)
    return Response(html, content_type="text/html; charset=utf-8")
