from django.urls import path

from billing import views

urlpatterns = [
    path("w/<int:workspace_id>/billing/", views.billing, name="billing"),
]
