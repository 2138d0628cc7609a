"""The API's documentation pages, served with their own assets (nothing from a CDN: during an outage
the network itself may be cut), and an OpenAPI document that says how to authorize: a person's bearer
token (from POST /api/v1/auth/token, which the "Authorize" dialog can call) or a partner's API key."""

from typing import Any, Final

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse

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
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
