from django.urls import path

from analytics import views

urlpatterns = [
    path("w/<int:workspace_id>/", views.overview, name="overview"),
    path("w/<int:workspace_id>/requests/", views.requests_log, name="requests"),
]
