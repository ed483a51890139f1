"""The public JSON API under /api/: django-ninja mounts the apps' routers and writes the
OpenAPI document, served at /api/schema/, from their operations."""

from typing import Any, ClassVar

from django.http import JsonResponse
from ninja import NinjaAPI, Schema
from ninja.openapi.schema import OpenAPISchema
from pydantic import ConfigDict

from geo.api import router as geo_router
from supporters.groups.api import router as groups_router
from supporters.nearby.api import router as events_router

OPENAPI = "application/vnd.oai.openapi+json"


class _Document(OpenAPISchema):
    """The document, with each body under the media type its Schema names (`media_type`):
    ninja would list every body as its renderer's application/json."""

    def responses(self, operation) -> dict:
        result = super().responses(operation)
        for status, wrapper in operation.response_models.items():
            body = wrapper.model_fields["response"].annotation if wrapper else None
            media_type = getattr(body, "media_type", None)
            content = result.get(status, {}).get("content")
            if media_type and content:
                content[media_type] = content.pop(self.api.renderer.media_type)
        return result


class SosediAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None) -> _Document:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return _Document(self, path_prefix)

    def get_openapi_operation_id(self, operation) -> str:
        return operation.view_func.__name__


api = SosediAPI(
    title="Sosedi public API",
    version="1",
    description="Read-only JSON endpoints of the public map. No endpoint returns a person or "
    "an individual point; other methods than GET get 405.",
    urls_namespace="api",
    # No interactive docs page (it would load Swagger UI from a CDN; the app makes no
    # third-party requests), and the document is an operation of its own, below.
    docs_url=None,
    openapi_url=None,
    # Anonymous, read-only GETs: no authentication, hence no CSRF check either (ninja's
    # views are CSRF-exempt; ops' ReadOnlyApiMiddleware answers other methods 405).
    auth=None,
)
api.add_router("", geo_router)
api.add_router("", events_router)
api.add_router("", groups_router)


class Document(Schema):
    media_type: ClassVar[str] = OPENAPI
    model_config = ConfigDict(extra="allow")

    openapi: str
    paths: dict[str, Any]


@api.get("/schema/", url_name="schema", response=Document, summary="This document")
def api_schema(request):
    """The OpenAPI document of the public JSON API."""
    return JsonResponse(
        api.get_openapi_schema(),
        content_type=OPENAPI,
        json_dumps_params={"ensure_ascii": False},
    )
