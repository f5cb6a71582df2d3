"""HTTPS settings that pass `check --deploy`, a content security policy with nonces and no
inline script, medical content never cached, and idle sessions that end."""

import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def test_check_deploy_in_https_mode_finds_nothing_to_warn_about(tmp_path):
    # GIVEN the service configured for HTTPS behind a proxy, as in production
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "exora.settings",
        "EXORA_HTTPS": "true",
        "EXORA_PROXY_SSL_HEADER": "X-Forwarded-Proto",
        "EXORA_SECRET_KEY": "k7#Qz!v9Lr2$Wm8@Np4^Tx6&Hb1*Jd5(Fc3)Gs0-Ye+Ua-pL7%nE2=rT9~wK4>cV6<bM1",
        "EXORA_ALLOWED_HOSTS": "exora.example.org",
        "EXORA_DATA_DIR": str(tmp_path / "data"),
    }
    # WHEN Django's deployment checks run
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    # THEN they pass without a single warning
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_https_mode_redirects_and_sets_strict_transport_security(settings, client, db):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client.get("/accounts/login/").status_code == 301
    secure = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")


def test_no_template_has_an_inline_script_or_handler():
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline script in {template}"
        assert not re.search(r"\son[a-z]+=\"", text), f"inline event handler in {template}"
        assert ' style="' not in text, f"inline style in {template}"


def test_pages_carry_the_policy_and_their_scripts_its_nonce(web_client):
    response = web_client.get("/")
    policy = response["Content-Security-Policy"]
    found = re.search(r"'nonce-([^']+)'", policy)
    assert found is not None, policy
    nonce = found.group(1)
    assert "script-src 'self' 'nonce-" in policy and "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    scripts = re.findall(r"<script[^>]*>", response.content.decode())
    assert scripts and all(f'nonce="{nonce}"' in s for s in scripts)


def test_medical_content_is_never_stored_by_a_cache(web_client, api_client, document):
    responses = [
        web_client.get(f"/documents/{document.id}/"),
        web_client.get(f"/documents/{document.id}/pages/1.jpg"),
        web_client.get(f"/documents/{document.id}/text/"),
        web_client.get(f"/documents/{document.id}/json/"),
        web_client.get("/"),
        api_client.get(f"/api/v1/documents/{document.id}/"),
        api_client.get(f"/api/v1/documents/{document.id}/result/"),
        api_client.get(f"/api/v1/documents/{document.id}/text/"),
    ]
    for response in responses:
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"], response.request["PATH_INFO"]


def test_sessions_end_after_the_idle_time_and_cookies_are_http_only(settings, client, user):
    assert settings.SESSION_COOKIE_AGE == settings.EXORA_SESSION_IDLE_MINUTES * 60 == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST and settings.SESSION_COOKIE_HTTPONLY and settings.CSRF_COOKIE_HTTPONLY
    client.force_login(user)
    response = client.get("/")
    assert response.cookies["sessionid"]["max-age"] == 30 * 60
    assert response.cookies["sessionid"]["httponly"]
    assert settings.MESSAGE_STORAGE.endswith("SessionStorage")
