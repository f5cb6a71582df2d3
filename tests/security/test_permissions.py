"""Operators' powers follow Django permissions, not only staff status; and the admin keeps a
document's owner (and status) as they are."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from dashboard.models import Alert, AlertRule
from documents.models import Document
from tests.conftest import signed_in
from tests.dashboard.conftest import default_rules, fail_with, make_document  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.usefixtures("default_rules")]


@pytest.fixture
def bare_staff(db) -> Client:
    """Staff who may look at /ops/ and do nothing else."""
    sam = get_user_model().objects.create_user("sam", password="a-staff-password-here", is_staff=True)
    client = signed_in(sam)
    client.user = sam  # type: ignore[attr-defined]
    return client


def failed(owner) -> Document:
    document = make_document(owner, status=Document.Status.FAILED, name="scan.pdf")
    fail_with(document, stage="page", error_class="TesseractError", message="crashed", page=1)
    return document


def test_retrying_from_ops_needs_the_retry_permission(user, bare_staff):
    document = failed(user)
    # WHEN staff without the permission retry, THEN they are refused and nothing changes
    for url, data in ((f"/ops/documents/{document.id}/retry/", {}),
                      ("/ops/failures/retry/", {"stage": "page", "error_class": "TesseractError"})):  # fmt: skip
        response = bare_staff.post(url, data)
        assert response.status_code == 403
        assert "documents.retry_document" in response.content.decode()
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    # AND the page does not offer the button
    assert f"/ops/documents/{document.id}/retry/" not in bare_staff.get("/ops/").content.decode()
    # WHEN they are given the permission, THEN the retry goes through
    bare_staff.user.user_permissions.add(Permission.objects.get(codename="retry_document"))
    assert bare_staff.post(f"/ops/documents/{document.id}/retry/").status_code == 302
    document.refresh_from_db()
    assert document.status == Document.Status.QUEUED


def test_acknowledging_needs_its_permission(bare_staff):
    now = timezone.now()
    alert = Alert.objects.create(
        rule=AlertRule.objects.get(key="no-worker"), subject="pages", state=Alert.State.FIRING, value=1,
        peak_value=1, started_at=now, raised_at=now,
    )  # fmt: skip
    assert bare_staff.post(f"/ops/alerts/{alert.id}/acknowledge/").status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_the_admin_offers_cancel_and_retry_only_with_their_permissions(user, bare_staff):
    bare_staff.user.user_permissions.add(Permission.objects.get(codename="view_document"))
    failed(user)
    form = bare_staff.get("/admin/documents/document/").context["action_form"]
    names = {name for name, _ in form.fields["action"].choices} if form is not None else set()
    assert "retry_documents" not in names and "cancel_documents" not in names


def test_the_admin_keeps_a_documents_owner(user, other_user):
    document = failed(user)
    root = get_user_model().objects.create_superuser("root", password="an-operator-password")
    admin = signed_in(root)
    page = admin.get(f"/admin/documents/document/{document.id}/change/").content.decode()
    assert 'name="owner"' not in page  # shown, not editable
    admin.post(f"/admin/documents/document/{document.id}/change/", {"owner": other_user.id, "original_name": "x"})
    document.refresh_from_db()
    assert document.owner == user
