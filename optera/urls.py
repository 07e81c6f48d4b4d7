from django.contrib import admin
from django.urls import path

from optera import health
from optera.api import api

urlpatterns = [
    path("healthz", health.healthz),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
