"""Page (from documents), WorkerProcess and MetricTally (from dashboard) now belong here.

Their tables were renamed by the migrations that let go of them; this one only tells Django
the models are processing's, and moves their content types (and with them permissions and
admin log entries) to this app.
"""

import django.db.models.deletion
from django.db import migrations, models

MOVED = {"page": "documents", "workerprocess": "dashboard", "metrictally": "dashboard"}


def move_content_types(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model, old_app in MOVED.items():
        content_type.objects.filter(app_label=old_app, model=model).update(app_label="processing")


def move_content_types_back(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model, old_app in MOVED.items():
        content_type.objects.filter(app_label="processing", model=model).update(app_label=old_app)


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("documents", "0006_page_moves_to_processing"),
        ("dashboard", "0003_workers_and_tallies_move_to_processing"),
        ("processing", "0004_extraction"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Page",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("number", models.PositiveIntegerField()),
                        ("status", models.CharField(choices=[("pending", "Pending"), ("running", "Being read"), ("done", "Done"), ("failed", "Failed")], default="pending", max_length=8)),
                        ("source", models.CharField(blank=True, choices=[("ocr", "OCR"), ("text_layer", "PDF text layer"), ("none", "Not read (OCR off)")], max_length=16)),
                        ("reads_text_layer", models.BooleanField(default=False)),
                        ("text", models.TextField(blank=True)),
                        ("words", models.JSONField(blank=True, default=list)),
                        ("mean_confidence", models.FloatField(blank=True, null=True)),
                        ("width", models.PositiveIntegerField(blank=True, null=True)),
                        ("height", models.PositiveIntegerField(blank=True, null=True)),
                        ("image", models.FileField(blank=True, max_length=500, upload_to="")),
                        ("timings", models.JSONField(blank=True, default=dict)),
                        ("done_at", models.DateTimeField(blank=True, null=True)),
                        ("message_id", models.CharField(blank=True, help_text="The broker message that reads this page.", max_length=64)),
                        ("lease_owner", models.CharField(blank=True, max_length=200)),
                        ("lease_expires_at", models.DateTimeField(blank=True, db_index=True, null=True)),
                        ("crash_count", models.PositiveSmallIntegerField(default=0, help_text="Workers that died reading this page.")),
                        ("document", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="pages", to="documents.document")),
                    ],
                    options={
                        "ordering": ["document", "number"],
                        "constraints": [models.UniqueConstraint(fields=("document", "number"), name="unique_page_number")],
                    },
                ),
                migrations.CreateModel(
                    name="WorkerProcess",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(db_index=True, help_text='"host:pid", as in Page.lease_owner.', max_length=200)),
                        ("host", models.CharField(max_length=150)),
                        ("pid", models.PositiveIntegerField()),
                        ("queues", models.JSONField(blank=True, default=list)),
                        ("threads", models.PositiveSmallIntegerField(default=1)),
                        ("started_at", models.DateTimeField()),
                        ("last_heartbeat", models.DateTimeField(db_index=True)),
                        ("stopped_at", models.DateTimeField(blank=True, help_text="Set by a clean shutdown only.", null=True)),
                        ("rss_bytes", models.BigIntegerField(default=0)),
                        ("memory_limit_bytes", models.BigIntegerField(default=0)),
                        ("cpu_percent", models.FloatField(default=0.0)),
                        ("current", models.JSONField(blank=True, default=list)),
                        ("messages_done", models.PositiveIntegerField(default=0)),
                    ],
                    options={
                        "ordering": ["-last_heartbeat"],
                        "constraints": [models.UniqueConstraint(fields=("host", "pid", "started_at"), name="unique_worker_process")],
                    },
                ),
                migrations.CreateModel(
                    name="MetricTally",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=100)),
                        ("label", models.CharField(blank=True, max_length=100)),
                        ("count", models.BigIntegerField(default=0)),
                        ("total", models.FloatField(default=0.0, help_text="The sum of observations (histograms).")),
                        ("buckets", models.JSONField(blank=True, default=list, help_text="Cumulative counts per upper bound.")),
                    ],
                    options={
                        "constraints": [models.UniqueConstraint(fields=("name", "label"), name="unique_metric_tally")],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
