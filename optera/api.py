"""The management API: one NinjaAPI, one router per app, OpenAPI docs at /api/docs."""

from ninja import NinjaAPI

api = NinjaAPI(title="Optera management API", version="1", urls_namespace="api")
