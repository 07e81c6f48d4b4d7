from django.urls import path

from billing import budget_views, views

urlpatterns = [
    path("w/<int:workspace_id>/billing/", views.billing, name="billing"),
    path("w/<int:workspace_id>/billing/checkout/", views.checkout, name="billing_checkout"),
    path("w/<int:workspace_id>/billing/portal/", views.portal, name="billing_portal"),
    path("w/<int:workspace_id>/budgets/", budget_views.budgets, name="budgets"),
    path("w/<int:workspace_id>/budgets/<int:budget_id>/delete/", budget_views.budget_remove, name="budget_remove"),
    path("w/<int:workspace_id>/budgets/webhook/delete/", budget_views.webhook_remove, name="webhook_remove"),
]
