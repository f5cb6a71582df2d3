"""The repaired copy of an upload becomes a field of its own, so it is found through the
storage (a bucket has no folders to look beside the original in)."""

from django.core.files.storage import default_storage
from django.db import migrations, models

import documents.models

EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg", "image/tiff": ".tiff"}


def record_readable_copies(apps, schema_editor):
    """Copies made before this field existed lie beside their original as readable<ext>."""
    document = apps.get_model("documents", "Document")
    for row in document.objects.filter(readable_file="").only("id", "mime_type").iterator():
        name = f"documents/{row.id}/readable{EXTENSIONS.get(row.mime_type, '')}"
        if default_storage.exists(name):
            document.objects.filter(id=row.id).update(readable_file=name)


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0006_page_moves_to_processing"),
    ]

    operations = [
        migrations.AddField(
            model_name="document",
            name="readable_file",
            field=models.FileField(blank=True, max_length=500, upload_to=documents.models.readable_copy_path),
        ),
        migrations.AddField(
            model_name="document",
            name="readable_sha256",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(record_readable_copies, migrations.RunPython.noop),
    ]
