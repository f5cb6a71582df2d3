"""What the service writes is its own: files 0600, folders 0700, and the secret key file made
whole and 0600 from its first moment (exora/settings/django.py)."""

import os
import stat
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from documents.models import Document
from exora.settings.django import write_new_file_atomically
from tests.conftest import drain
from tests.factories import born_digital_pdf


def modes_under(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"files": set(), "folders": set()}
    for path in folder.rglob("*"):
        kind = "folders" if path.is_dir() else "files"
        found[kind].add(oct(stat.S_IMODE(path.stat().st_mode)))
    return found


def test_uploads_page_images_and_the_cache_are_private(api_client, stub_broker, stub_worker):
    # GIVEN a document uploaded and read by the workers
    content = born_digital_pdf([["Blood pressure 120/80."], ["Pulse 72."]])
    response = api_client.post("/api/v1/documents/", {"file": SimpleUploadedFile("bp.pdf", content)})
    assert response.status_code == 201, response.content
    drain(stub_broker)
    document = Document.objects.get(id=response.json()["id"])
    assert document.status == Document.Status.COMPLETED, document.error

    # THEN its original, its page images and the workers' cached copy are 0600 in 0700 folders
    media = modes_under(Path(settings.MEDIA_ROOT) / "documents" / str(document.id))
    assert media["files"] == {"0o600"} and media["folders"] <= {"0o700"}
    cache = modes_under(Path(settings.EXORA_CACHE_DIR))
    assert cache["files"] == {"0o600"}
    assert oct(stat.S_IMODE(Path(settings.EXORA_CACHE_DIR).stat().st_mode)) == "0o700"
    # AND the data dir and its scratch folder let nobody else in
    for folder in (settings.DATA_DIR, settings.EXORA_TMP_DIR):
        assert stat.S_IMODE(Path(folder).stat().st_mode) & 0o077 == 0, folder


def test_the_secret_key_file_is_made_whole_private_and_once(tmp_path):
    # GIVEN no key file yet
    key_file = tmp_path / "secret_key"
    # WHEN two processes make it, one after the other
    write_new_file_atomically(key_file, b"first")
    write_new_file_atomically(key_file, b"second")
    # THEN the first one's stays, 0600, and nothing half-written is left beside it
    assert key_file.read_bytes() == b"first"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_a_fresh_data_dir_gets_a_private_secret_key(tmp_path):
    # GIVEN a data dir with no key, and no EXORA_SECRET_KEY
    env = {k: v for k, v in os.environ.items() if k != "EXORA_SECRET_KEY"}
    env.update(EXORA_DATA_DIR=str(tmp_path / "data"), EXORA_BROKER="stub")
    # WHEN the settings are loaded in a process of their own
    subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**env, "DJANGO_SETTINGS_MODULE": "exora.settings"},
        check=True,
        cwd=settings.BASE_DIR,
    )
    # THEN the key is there, 0600, in a 0700 data dir
    key_file = tmp_path / "data" / "secret_key"
    assert len(key_file.read_text()) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
