"""The overview's live-precision panel: the workspace's own verified hits, its threshold and the last raise."""

import pytest

from accounts.models import WorkspaceSettings
from cachestore import services

pytestmark = [pytest.mark.django_db]


def test_the_panel_shows_samples_agreement_disagreements_threshold_and_the_last_raise(client, people):
    WorkspaceSettings.objects.filter(workspace=people.workspace).update(
        verify_sample_rate=0.25, verify_min_samples=5, verify_disagreement_bound=0.005
    )
    for agreed in (True, False, False, False, False):
        services.semantic_verify_record(workspace_id=people.workspace.pk, agreed=agreed)
    for _ in range(7):  # the outsider's figures must not leak into this page
        services.semantic_verify_record(workspace_id=people.outsiders_workspace.pk, agreed=True)
    client.force_login(people.member)

    page = client.get(f"/w/{people.workspace.pk}/").content.decode()

    panel = page[page.index('data-section="semantic-verify"') :]
    panel = panel[: panel.index("</section>")]
    assert 'Hits verified</th><td class="num">5<' in panel
    assert "20.0 %" in panel  # one of five agreed
    assert 'Disagreed</th><td class="num">4<' in panel
    assert 'Threshold now</th><td class="num">0.82<' in panel
    assert "0.80 → 0.82" in panel and "(4 of 5 disagreed)" in panel
    assert "25 % of semantic hits" in panel and "0.5 % of at least 5" in panel


def test_the_panel_says_verification_is_off_and_what_it_costs(client, people):
    client.force_login(people.member)
    page = client.get(f"/w/{people.workspace.pk}/").content.decode()
    panel = page[page.index('data-section="semantic-verify"') :]
    assert "Off. Set <code>verify_sample_rate</code>" in panel[: panel.index("</section>")]
    assert "Hits verified" not in page
