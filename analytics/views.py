"""The dashboard's overview and request log, read from the same accounting as /api/.../usage."""

import datetime

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from accounts.views.access import membership_for_page, page_context
from accounts.views.auth import pop_new_key
from analytics import selectors
from analytics.forms import RequestFilterForm
from cachestore.selectors import semantic_verify_summary

PERIODS = (7, 30, 90)
REQUESTS_PER_PAGE = 50


@login_required
def overview(request, workspace_id):
    membership = membership_for_page(request, workspace_id)
    days = int(request.GET.get("days", 30)) if request.GET.get("days", "30") in {str(p) for p in PERIODS} else 30
    since = timezone.now() - datetime.timedelta(days=days)
    overview = selectors.workspace_overview(workspace_id=workspace_id, since=since)
    context = page_context(
        request,
        membership,
        days=days,
        periods=PERIODS,
        overview=overview,
        chart=selectors.overview_chart(overview, since=since, until=timezone.now()),
        new_key=pop_new_key(request, workspace_id),
        base_url=request.build_absolute_uri("/").rstrip("/"),
        has_requests=overview["requests"] > 0 or selectors.workspace_has_requests(workspace_id=workspace_id),
        # Shown with the settings it depends on: the figures mean little without the rate and threshold.
        verification=semantic_verify_summary(workspace_id=workspace_id),
        workspace_settings=membership.workspace.settings,
        verify_rate_percent=f"{membership.workspace.settings.verify_sample_rate * 100:g}",
        verify_bound_percent=f"{membership.workspace.settings.verify_disagreement_bound * 100:g}",
    )
    return render(request, "analytics/overview.html", context)


@login_required
def requests_log(request, workspace_id):
    membership = membership_for_page(request, workspace_id)
    form = RequestFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = selectors.request_log_page(
        workspace_id=workspace_id, filters=filters, before_id=filters.get("before"), limit=REQUESTS_PER_PAGE
    )
    context = page_context(
        request,
        membership,
        form=form,
        rows=page.rows,
        older=page.next_before_id,
        filtered=any(value for name, value in filters.items() if name != "before"),
        query_without_paging=_query_without(request, "before"),
    )
    template = "analytics/request_rows.html" if request.headers.get("HX-Request") else "analytics/requests.html"
    return render(request, template, context)


def _query_without(request, name):
    query = request.GET.copy()
    query.pop(name, None)
    return query.urlencode()
