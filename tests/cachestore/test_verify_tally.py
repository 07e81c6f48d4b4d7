"""Counting verified semantic hits and the automatic raise of the threshold (cachestore.services)."""

import pytest

from accounts import services as account_services
from accounts.models import WorkspaceSettings
from cachestore import services
from cachestore.models import SemanticThresholdRaise, SemanticVerifyTally
from cachestore.services import THRESHOLD_RAISE_CAP, WINDOW_RESTART_FACTOR

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def workspace():
    workspace = account_services.workspace_create(name="acme")
    WorkspaceSettings.objects.filter(workspace=workspace).update(verify_min_samples=10, verify_disagreement_bound=0.1)
    return workspace


def record(workspace, outcomes):
    return [services.semantic_verify_record(workspace_id=workspace.pk, agreed=agreed) for agreed in outcomes]


def threshold(workspace):
    return WorkspaceSettings.objects.get(workspace=workspace).semantic_threshold


def test_no_raise_before_the_minimum_samples_however_bad(workspace):
    assert record(workspace, [False] * 9) == [None] * 9
    assert threshold(workspace) == 0.8


def test_a_rate_at_the_bound_is_not_over_it(workspace):
    assert record(workspace, [False] + [True] * 9) == [None] * 10  # 10 % against a 10 % bound
    assert threshold(workspace) == 0.8


def test_over_the_bound_raises_once_and_restarts_the_window(workspace):
    raises = [raised for raised in record(workspace, [False, False] + [True] * 8) if raised]
    assert len(raises) == 1 and (raises[0].threshold_before, raises[0].threshold_after) == (0.8, 0.82)
    tally = SemanticVerifyTally.objects.get(workspace=workspace)
    assert (tally.samples, tally.disagreements, tally.window_samples, tally.window_disagreements) == (10, 2, 0, 0)
    # The next raise needs a new window's own evidence.
    assert not any(record(workspace, [True] * 9))
    assert threshold(workspace) == 0.82


def test_the_threshold_stops_at_the_cap(workspace):
    WorkspaceSettings.objects.filter(workspace=workspace).update(semantic_threshold=0.98)
    record(workspace, [False] * 10)
    assert threshold(workspace) == THRESHOLD_RAISE_CAP
    assert not any(record(workspace, [False] * 10))
    assert threshold(workspace) == THRESHOLD_RAISE_CAP
    assert SemanticThresholdRaise.objects.count() == 1


def test_a_long_agreeing_window_starts_again_so_it_cannot_dilute_a_new_problem(workspace):
    record(workspace, [True] * (10 * WINDOW_RESTART_FACTOR))
    assert SemanticVerifyTally.objects.get(workspace=workspace).window_samples == 0
    record(workspace, [False, False] + [True] * 8)
    assert threshold(workspace) == 0.82
