from django.urls import path

from analytics import spend_views, views

urlpatterns = [
    path("w/<int:workspace_id>/", views.overview, name="overview"),
    path("w/<int:workspace_id>/requests/", views.requests_log, name="requests"),
    path("w/<int:workspace_id>/spend/", spend_views.spend, name="spend"),
    path("w/<int:workspace_id>/spend/sessions/<path:session_id>/", spend_views.session, name="session"),
]
