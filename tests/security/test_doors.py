"""Doors that hold against guessing: sign-in lockouts (django-axes), password rules, API
throttles, upload quotas, hashed and expiring API tokens (django-rest-knox), and one-time
passwords for staff (django-otp)."""

import io
import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from exora.token_auth import TokenAuthentication, tokens_expired_delete
from tests.conftest import signed_in
from tests.factories import born_digital_pdf, png

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def fresh_counts():
    cache.clear()  # throttles count in the cache


def sign_in(client: Client, username: str, password: str, url: str = "/accounts/login/"):
    return client.post(url, {"username": username, "password": password})


# --- Sign-in lockouts ---------------------------------------------------------------------------


def test_repeated_failures_lock_the_account_with_a_clear_message(settings, user):
    settings.EXORA_LOGIN_FAILURES = settings.AXES_FAILURE_LIMIT = 3
    # GIVEN three wrong passwords for alice
    guesser = Client(REMOTE_ADDR="10.0.0.1")
    for guess in ("password1", "password2", "password3"):
        sign_in(guesser, "alice", guess)
    # WHEN the right one comes, even from another address
    response = sign_in(Client(REMOTE_ADDR="10.0.0.2"), "alice", PASSWORD)
    # THEN she is locked out, and told so and for how long
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert f"for {settings.EXORA_LOGIN_LOCKOUT_MINUTES} minutes" in response.content.decode()
    # AND an operator unlocks her by deleting the attempts in the admin
    operator = get_user_model().objects.create_superuser("olga", password="an-operator-password")
    admin = signed_in(operator)
    attempts = list(AccessAttempt.objects.filter(username="alice").values_list("id", flat=True))
    response = admin.post(
        "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": attempts, "post": "yes"}
    )
    assert response.status_code == 302
    assert sign_in(Client(REMOTE_ADDR="10.0.0.2"), "alice", PASSWORD).status_code == 302


def test_failures_from_one_address_lock_that_address_for_every_account(settings, user, other_user):
    settings.EXORA_LOGIN_FAILURES = settings.AXES_FAILURE_LIMIT = 3
    sprayer = Client(REMOTE_ADDR="10.0.0.9")
    for name in ("bob", "carol", "dave"):
        sign_in(sprayer, name, "Winter2026!")
    assert sign_in(sprayer, "alice", PASSWORD).status_code == 429
    assert sign_in(Client(REMOTE_ADDR="10.0.0.10"), "alice", PASSWORD).status_code == 302


def test_the_admin_login_is_locked_too(settings, db):
    settings.EXORA_LOGIN_FAILURES = settings.AXES_FAILURE_LIMIT = 2
    get_user_model().objects.create_superuser("root", password="an-operator-password")
    guesser = Client(REMOTE_ADDR="10.0.0.3")
    for guess in ("admin", "root"):
        sign_in(guesser, "root", guess, "/admin/login/")
    assert sign_in(guesser, "root", "an-operator-password", "/admin/login/").status_code == 429


@pytest.mark.parametrize(
    ("password", "why"),
    [("short-pw", "too short"), ("password1234", "too common"), ("184736291045", "entirely numeric"),
     ("alice.liddell", "too similar")],
)  # fmt: skip
def test_weak_passwords_are_refused(db, password, why):
    person = get_user_model()(username="alice.liddell", email="alice.liddell@example.org")
    with pytest.raises(ValidationError, match=why):
        validate_password(password, person)
    validate_password("a correct horse battery staple", person)


# --- API throttles and quotas ------------------------------------------------------------------


def upload(client, name: str, content: bytes):
    return client.post("/api/v1/documents/", {"file": SimpleUploadedFile(name, content)}, format="multipart")


def test_api_reads_are_throttled_per_minute_with_a_clear_429(monkeypatch, api_client):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"uploads": "100/hour", "reads": "3/min"})
    statuses = [api_client.get("/api/v1/documents/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    detail = api_client.get("/api/v1/documents/").json()["detail"]
    assert "Too many requests: at most" in detail and "Try again in" in detail


def test_uploads_are_throttled_per_hour(monkeypatch, settings, api_client):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"uploads": "2/hour", "reads": "100/min"})
    settings.EXORA_API_UPLOADS_PER_HOUR = 2
    assert upload(api_client, "a.png", png(["One."])).status_code == 201
    assert upload(api_client, "b.png", png(["Two."])).status_code == 201
    third = upload(api_client, "c.png", png(["Three."]))
    assert third.status_code == 429
    assert "at most 2 uploads an hour" in third.json()["detail"]
    # (reads are counted apart)
    assert api_client.get("/api/v1/documents/").status_code == 200


def test_a_person_over_their_storage_quota_is_refused(settings, api_client):
    settings.EXORA_USER_QUOTA_MB = 1
    first = png([f"Line {n} of a long scanned page." for n in range(20)])
    assert upload(api_client, "first.png", first).status_code == 201
    big = born_digital_pdf([["Filler."]]) + b"%" + b"0" * (1024 * 1024)  # a PDF with trailing bytes
    refused = upload(api_client, "second.pdf", big)
    assert refused.status_code == 403
    assert "of your 1 MB: delete some" in refused.json()["detail"]


def test_a_person_over_their_pages_per_day_is_refused(settings, api_client):
    settings.EXORA_USER_PAGES_PER_DAY = 2
    assert upload(api_client, "two.pdf", born_digital_pdf([["Page one."], ["Page two."]])).status_code == 201
    refused = upload(api_client, "one.pdf", born_digital_pdf([["Page three."]]))
    assert refused.status_code == 429
    assert "the limit is 2 pages a day" in refused.json()["detail"]


# --- API tokens --------------------------------------------------------------------------------


def test_tokens_are_hashed_expiring_shown_once_and_revocable_by_their_owner(web_client, user):
    # WHEN alice makes a token on her tokens page
    page = web_client.post("/tokens/").content.decode()
    key = page.split('<code id="new-token">')[1].split("</code>")[0]
    # THEN it works on the API, expires, and only its hash is stored
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/documents/").status_code == 200
    token = AuthToken.objects.get(user=user)
    assert token.expiry is not None and token.digest != key and key not in str(vars(token))
    # AND it is never shown again
    assert key not in web_client.get("/tokens/").content.decode()
    # WHEN she revokes it, THEN it no longer works
    web_client.post("/tokens/revoke/", {"token_key": token.token_key})
    assert api.get("/api/v1/documents/").status_code in (401, 403)


def test_an_expired_token_is_refused_and_the_daily_duties_delete_every_expired_one(user, other_user):
    # GIVEN alice's live token, her expired one, and an expired one of bob's
    live, live_key = AuthToken.objects.create(user=user)
    expired, expired_key = AuthToken.objects.create(user=user)
    bobs, _ = AuthToken.objects.create(user=other_user)
    AuthToken.objects.filter(digest__in=[expired.digest, bobs.digest]).update(expiry=timezone.now() - timedelta(days=1))
    api = APIClient()
    # WHEN each of alice's is used
    api.credentials(HTTP_AUTHORIZATION=f"Token {expired_key}")
    refused = api.get("/api/v1/documents/")
    api.credentials(HTTP_AUTHORIZATION=f"Token {live_key}")
    served = api.get("/api/v1/documents/")
    # THEN the expired one is refused (and gone), the live one works, and bob's is left to the daily duties
    assert refused.status_code in (401, 403) and served.status_code == 200
    assert set(AuthToken.objects.values_list("digest", flat=True)) == {live.digest, bobs.digest}
    # AND a live token is checked with one query (knox's own also reads all of the person's tokens)
    with CaptureQueriesContext(connection) as queries:
        assert TokenAuthentication().authenticate_credentials(live_key.encode())[0] == user
    assert len(queries) == 1
    # WHEN the daily duties delete the expired tokens, THEN only the live one is left
    assert tokens_expired_delete() == 1
    assert list(AuthToken.objects.values_list("digest", flat=True)) == [live.digest]


def test_someone_else_cannot_revoke_a_token(web_client, other_user):
    _, key = AuthToken.objects.create(user=other_user)
    web_client.post("/tokens/revoke/", {"token_key": key[:15]})
    assert AuthToken.objects.filter(user=other_user).exists()


def test_the_admin_never_shows_a_token_or_its_hash(user):
    token, key = AuthToken.objects.create(user=user)
    operator = get_user_model().objects.create_superuser("olga", password="an-operator-password")
    admin = signed_in(operator)
    listing = admin.get("/admin/knox/authtoken/").content.decode()
    # (the hash is the row's id, in its links; no column shows it)
    assert "alice" in listing and key not in listing and "field-digest" not in listing
    assert key[:15] not in admin.get(f"/admin/knox/authtoken/{token.digest}/change/").content.decode()
    assert admin.get("/admin/knox/authtoken/add/").status_code == 403


def test_a_token_from_the_command_line(user):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("create_api_token", "alice", stdout=out)
    key = out.getvalue().strip()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/documents/").status_code == 200


# --- One-time passwords for staff --------------------------------------------------------------


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("sam", password="a-staff-password-here", is_staff=True)


def test_staff_pages_need_no_second_factor_when_it_is_off(staff):
    client = signed_in(staff)
    assert client.get("/ops/").status_code == 200


def test_with_2fa_on_staff_enrol_an_app_then_reach_ops_and_admin(settings, staff):
    settings.EXORA_STAFF_2FA = True
    client = signed_in(staff)
    # WHEN a signed-in operator opens /ops/, THEN they are sent to the two-factor page
    response = client.get("/ops/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/two-factor/?next=/ops/")
    assert client.get("/admin/").status_code == 302
    # AND it shows a key to add to an authenticator app
    page = client.get(response["Location"]).content.decode()
    assert 'id="totp-key"' in page and "otpauth://totp/" in page
    device = TOTPDevice.objects.get(user=staff)
    assert not device.confirmed
    # WHEN they give a wrong code, THEN they stay out
    client.post("/accounts/two-factor/?next=/ops/", {"code": "000000"})
    assert client.get("/ops/").status_code == 302
    # AND a code given at once after a wrong one waits (django-otp's throttle)
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    assert "Too many wrong codes" in client.post("/accounts/two-factor/", {"code": code}).content.decode()
    time.sleep(1.1)
    # WHEN they give the code the app shows
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    verified = client.post("/accounts/two-factor/?next=/ops/", {"code": code})
    # THEN the device is confirmed and the operators' pages open
    assert verified.status_code == 302 and verified["Location"] == "/ops/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/ops/").status_code == 200
    assert client.get("/admin/").status_code == 200
    # AND the key is no longer shown to anyone
    other_session = signed_in(staff)
    assert 'id="totp-key"' not in other_session.get("/accounts/two-factor/").content.decode()


def test_people_who_are_not_staff_are_untouched_by_2fa(settings, web_client):
    settings.EXORA_STAFF_2FA = True
    assert web_client.get("/").status_code == 200
    assert web_client.get("/accounts/two-factor/").status_code == 403
