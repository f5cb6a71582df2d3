"""Page moves to the processing app (processing/migrations/0005 takes it over).

The rows stay where they are: the table is only renamed, and Django forgets the model here.
"""

from django.db import migrations


class Migration(migrations.Migration):
    # After every migration of the old layout, so the move is one step in any plan.
    dependencies = [
        ("documents", "0005_page_reads_text_layer"),
        ("dashboard", "0002_default_alert_rules"),
        ("processing", "0004_extraction"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.AlterModelTable(name="page", table="processing_page")],
            state_operations=[migrations.DeleteModel(name="page")],
        ),
    ]
