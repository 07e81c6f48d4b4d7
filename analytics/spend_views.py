"""The dashboard's "Spend by" page: who and what spent the money, by end user, tag or session.

The groups come from the same selector as `/api/.../usage?group_by=`, so the page and the API
agree to the cent; a session opens as the timeline of its requests.
"""

import datetime

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from accounts.views.access import membership_for_page, page_context
from analytics import selectors

PERIODS = (7, 30, 90)
DIMENSIONS = {"user": "End users", "tag": "Tags", "session": "Sessions", "key": "API keys", "model": "Models"}
GROUPS_SHOWN = 50
CHART_BARS = 10


@login_required
def spend(request, workspace_id):
    membership = membership_for_page(request, workspace_id)
    days = int(request.GET["days"]) if request.GET.get("days") in {str(period) for period in PERIODS} else 30
    by = request.GET.get("by") if request.GET.get("by") in DIMENSIONS else "user"
    since = timezone.now() - datetime.timedelta(days=days)
    groups = selectors.usage_groups(workspace_id=workspace_id, since=since, group_by=by, limit=GROUPS_SHOWN, offset=0)
    chart = {
        "labels": [group["key"] or "(none)" for group in groups[:CHART_BARS]],
        "spent": [float(group["cost_usd"]) for group in groups[:CHART_BARS]],
        "saved": [float(group["saved_usd"]) for group in groups[:CHART_BARS]],
    }
    context = page_context(
        request,
        membership,
        days=days,
        periods=PERIODS,
        by=by,
        dimensions=DIMENSIONS,
        dimension_label=DIMENSIONS[by],
        groups=groups,
        chart=chart,
    )
    return render(request, "analytics/spend.html", context)


@login_required
def session(request, workspace_id, session_id):
    membership = membership_for_page(request, workspace_id)
    requests = selectors.session_requests(workspace_id=workspace_id, session_id=session_id)
    if not requests:  # another workspace's session looks exactly like one that does not exist
        raise Http404("no such session")
    context = page_context(
        request,
        membership,
        session_id=session_id,
        requests=requests,
        cost_usd=sum(row.cost_usd for row in requests),
        saved_usd=sum(row.saved_usd for row in requests),
        took=duration_text(requests[-1].created_at - requests[0].created_at),
    )
    return render(request, "analytics/session.html", context)


def duration_text(delta):
    """ "0.4 s", "42 s", "3 min 5 s" or "2 h 10 min": how long a session ran, as a person says it."""
    seconds = delta.total_seconds()
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
