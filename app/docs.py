"""The API's documentation pages, served with their own assets (nothing from a CDN: during an outage
the network itself may be cut), and an OpenAPI document that says how to authorize: a person's bearer
token (from POST /api/v1/auth/token, which the "Authorize" dialog can call) or a partner's API key."""

from typing import Any, Final

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse

from app.problems import PROBLEM_JSON

SWAGGER: Final = "/assets/swagger-ui-5.36.0"
SECURITY_SCHEMES: Final[dict[str, Any]] = {
    "signIn": {
        "type": "oauth2",
        "description": "a person: username and password give a bearer token",
        "flows": {"password": {"tokenUrl": "/api/v1/auth/token", "scopes": {}}},
    },
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "a token from POST /api/v1/auth/token",
    },
    "partnerKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "an EDI partner's key",
    },
}


# RFC 9457 problem details: the body of every error answer of the API.
PROBLEM_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                },
            },
        },
    },
}
ERROR_TITLES: Final = {
    400: "Bad request",
    401: "Not signed in, or the token or key is no longer valid",
    403: "Not allowed for this role or partner",
    404: "Not found",
    409: "In conflict with the current state",
    413: "Body too large",
    415: "Unsupported content type",
    422: "Invalid request: each error is located (`errors[].loc`)",
    429: "Too many attempts: wait for `Retry-After` seconds",
}
FASTAPI_DESCRIPTIONS: Final = {"", "Additional Response", "Validation Error"}
PUBLIC_OPERATIONS: Final = {("post", "/auth/token"), ("get", "/system"), ("get", "/metrics")}


def document_errors(schema: dict[str, Any], *, prefix: str) -> None:
    """Declare the error answers of every API operation, as problem details: those a route names, and
    those every operation of its kind may give (401, 403 and 404 when signed in, 413 and 415 with a
    body, 422, and 429 once a caller is throttled); public operations need no credentials."""
    problem = {"$ref": "#/components/schemas/Problem"}
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            codes = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
            if not path.startswith(prefix):  # health, readiness, metrics: for machines, no credentials
                operation["security"] = []
            elif (method, path.removeprefix(prefix)) in PUBLIC_OPERATIONS:
                operation["security"] = []
                if method == "post":
                    codes.add(401)  # a wrong password
            else:
                codes |= {401, 403, 404}  # 404: an id in the path or the body that names nothing
            if path.startswith(prefix):
                codes |= {422, 429}
            if "requestBody" in operation:
                codes |= {400, 413, 415}  # 400: a body that cannot be parsed at all
            for code in sorted(codes):
                described = responses.get(str(code), {}).get("description", "")
                if described in FASTAPI_DESCRIPTIONS:
                    described = ERROR_TITLES.get(code, "Error")
                responses[str(code)] = {
                    "description": described,
                    "content": {PROBLEM_JSON: {"schema": problem}},
                }


def install(app: FastAPI, *, prefix: str) -> None:
    docs = f"{prefix}/docs"
    redirect = f"{docs}/oauth2-redirect"
    router = APIRouter(include_in_schema=False)

    @router.get(docs, response_class=HTMLResponse)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "",
            title=f"{app.title} API",
            swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
            oauth2_redirect_url=redirect,
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @router.get(redirect, response_class=HTMLResponse)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.include_router(router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            schema["security"] = [{"signIn": []}, {"bearerToken": []}, {"partnerKey": []}]
            document_errors(schema, prefix=prefix)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
