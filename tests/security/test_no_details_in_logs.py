"""No medical details where they do not belong: e-mail subjects and bodies, the mail backend set
on purpose, flash messages kept on the server, and the operator's password never logged."""

import io
import stat
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from documents import notifications
from documents.models import Document
from exora.mailurl import email_settings


def test_the_finished_email_names_no_file(user):
    user.email = "alice@example.org"
    user.save()
    document = Document.objects.create(
        owner=user, original_name="psychiatric-assessment-alice.pdf", file="x", size_bytes=1, sha256="2" * 64,
        mime_type="application/pdf", status=Document.Status.FAILED, error="Page 3: unreadable",
        finished_at=timezone.now(),
    )  # fmt: skip
    notifications._send_finished_email(document)
    sent = mail.outbox[0]
    assert sent.subject == "Exora: a document could not be read"
    assert "psychiatric" not in sent.subject + sent.body and "unreadable" not in sent.body


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", {"EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}),
        ("console:", {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}),
        ("smtp://mailer:s%40cret@mail.example.org:587", {"EMAIL_HOST": "mail.example.org", "EMAIL_PORT": 587,
         "EMAIL_HOST_USER": "mailer", "EMAIL_HOST_PASSWORD": "s@cret", "EMAIL_USE_TLS": True, "EMAIL_USE_SSL": False}),
        ("smtps://mail.example.org", {"EMAIL_PORT": 465, "EMAIL_USE_SSL": True, "EMAIL_USE_TLS": False}),
    ],
)  # fmt: skip
def test_the_mail_backend_comes_from_one_url(url, expected):
    found = email_settings(url)
    assert {key: found[key] for key in expected} == expected


def test_an_unknown_mail_scheme_is_refused():
    with pytest.raises(ValueError, match="EXORA_EMAIL_URL"):
        email_settings("sendgrid://key")


def test_flash_messages_naming_files_stay_on_the_server(web_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = web_client.post("/upload/", {"file": SimpleUploadedFile("hiv-results.txt", b"not a pdf")})
    assert response.status_code == 302
    assert "messages" not in response.cookies  # the cookie storage would put the file name there
    assert "hiv-results.txt" in web_client.get("/").content.decode()  # shown once, from the session


def test_a_generated_operator_password_goes_to_a_private_file_not_the_log(settings, db, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.EXORA_ADMIN_PASSWORD = ""
    out = io.StringIO()  # not a terminal: what a log would keep
    call_command("ensure_operator", stdout=out)
    password_file = Path(tmp_path) / "operator-password"
    password = password_file.read_text().strip()
    assert len(password) >= 20 and password not in out.getvalue()
    assert str(password_file) in out.getvalue()
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600


def test_ensure_operator_explains_how_to_enrol_with_2fa(settings, db):
    settings.EXORA_STAFF_2FA = True
    settings.EXORA_ADMIN_PASSWORD = "a-long-operator-password"
    out = io.StringIO()
    call_command("ensure_operator", "--url", "https://exora.example.org/", stdout=out)
    assert "https://exora.example.org/accounts/two-factor/" in out.getvalue()
    assert "a-long-operator-password" not in out.getvalue()
