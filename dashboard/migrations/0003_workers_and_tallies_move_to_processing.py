"""WorkerProcess and MetricTally move to the processing app, which writes them
(processing/migrations/0005 takes them over). The rows stay: the tables are only renamed."""

from django.db import migrations


class Migration(migrations.Migration):
    # After every migration of the old layout, so the move is one step in any plan.
    dependencies = [
        ("dashboard", "0002_default_alert_rules"),
        ("documents", "0005_page_reads_text_layer"),
        ("processing", "0004_extraction"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name="workerprocess", table="processing_workerprocess"),
                migrations.AlterModelTable(name="metrictally", table="processing_metrictally"),
            ],
            state_operations=[
                migrations.DeleteModel(name="workerprocess"),
                migrations.DeleteModel(name="metrictally"),
            ],
        ),
    ]
