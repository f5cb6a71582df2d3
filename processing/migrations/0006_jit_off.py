"""PostgreSQL's JIT off for the role Exora connects as.

The queue's aggregate query has a large estimated cost, so the JIT compiled it every time:
35 ms of compiling for a 1 ms query, and Exora's short queries never gain from it. It used to
be a startup option of every connection (`options=-c jit=off`), which PgBouncer refuses; a
role's setting applies to every session it opens, through a pooler or not, and a role may
always change its own.
"""

from django.db import migrations


def jit_off(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER ROLE CURRENT_USER SET jit = off")


def jit_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER ROLE CURRENT_USER RESET jit")


class Migration(migrations.Migration):
    dependencies = [("processing", "0005_pages_workers_tallies")]

    operations = [migrations.RunPython(jit_off, jit_default, elidable=False)]
