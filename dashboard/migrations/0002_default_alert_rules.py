"""The alert rules Exora ships with (issue 5); operators edit them in the admin afterwards."""

from django.db import migrations

# key, name, kind, warning, critical, duration s, window s, min count, resolve after s
DEFAULT_RULES = [
    ("queue-depth", "Queue depth over 20 for 15 minutes", "queue_depth", 20, None, 900, 900, 0, 60),
    ("wait-time", "Average wait over 15 minutes (warning 30 s, critical 60 s)", "wait_time", 30, 60, 60, 900, 0, 60),
    ("worker-memory", "Worker memory over 85% of its limit for 5 minutes", "worker_memory", 85, None, 300, 900, 0, 60),
    (
        "failure-rate",
        "Failure rate over 5% in the past hour (at least 20 documents)",
        "failure_rate", 5, None, 0, 3600, 20, 300,
    ),
    ("no-worker", "No worker alive for a queue that has work", "no_worker", None, 0, 60, 900, 0, 30),
    ("stale-heartbeat", "A worker's heartbeat is stale (critical once dead)", "stale_heartbeat", 15, 60, 0, 900, 0, 0),
    ("dead-letters", "Dead letters growing (in the past 15 minutes)", "dead_letters", 0, None, 0, 900, 0, 60),
    ("watchdog", "The alert evaluator has not run (watchdog)", "watchdog", 120, 600, 0, 900, 0, 0),
]  # fmt: skip


def seed(apps, schema_editor):
    AlertRule = apps.get_model("dashboard", "AlertRule")
    for key, name, kind, warning, critical, duration, window, min_count, resolve_after in DEFAULT_RULES:
        AlertRule.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "kind": kind,
                "warning_threshold": warning,
                "critical_threshold": critical,
                "duration_seconds": duration,
                "window_seconds": window,
                "min_count": min_count,
                "resolve_after_seconds": resolve_after,
            },
        )


def unseed(apps, schema_editor):
    AlertRule = apps.get_model("dashboard", "AlertRule")
    AlertRule.objects.filter(key__in=[rule[0] for rule in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
