from django.urls import path

from billing import views

urlpatterns = [
    path("w/<int:workspace_id>/billing/", views.billing, name="billing"),
    path("w/<int:workspace_id>/billing/checkout/", views.checkout, name="billing_checkout"),
    path("w/<int:workspace_id>/billing/portal/", views.portal, name="billing_portal"),
]
