# API tokens are django-rest-knox's now (stored hashed, expiring): the table where
# rest_framework.authtoken kept keys in plain text goes, keys and all.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("documents", "0007_readable_file")]

    operations = [migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop)]
