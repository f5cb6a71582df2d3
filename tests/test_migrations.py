"""Models that moved between apps keep their rows: a database filled at the old layout is migrated.

Page moved from documents, WorkerProcess and MetricTally from dashboard, to processing.
"""

from datetime import UTC, datetime

OLD_LAYOUT = [
    ("documents", "0005_page_reads_text_layer"),
    ("dashboard", "0002_default_alert_rules"),
    ("processing", "0004_extraction"),
]
NEW_LAYOUT = [("processing", "0005_pages_workers_tallies")]
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def test_pages_workers_and_tallies_keep_their_rows_when_they_move_to_processing(migrator):
    # GIVEN a database at the old layout, with a document and its page, a worker and a tally
    old = migrator.apply_initial_migration(OLD_LAYOUT)
    user = old.apps.get_model("auth", "User").objects.create(username="alice")
    document = old.apps.get_model("documents", "Document").objects.create(
        owner_id=user.id, original_name="scan.pdf", file="documents/x/original.pdf", size_bytes=10,
        sha256="0" * 64, mime_type="application/pdf", status="completed", page_count=1, pages_done=1,
    )  # fmt: skip
    old.apps.get_model("documents", "Page").objects.create(
        document_id=document.id, number=1, status="done", text="Metformin 500 mg", words=[{"text": "Metformin"}],
        lease_owner="host:1", crash_count=2, reads_text_layer=True,
    )  # fmt: skip
    old.apps.get_model("dashboard", "WorkerProcess").objects.create(
        name="host:1", host="host", pid=1, queues=["pages"], started_at=NOW, last_heartbeat=NOW, rss_bytes=123
    )
    old.apps.get_model("dashboard", "MetricTally").objects.create(name="pages_recovered", count=7)
    content_type = old.apps.get_model("contenttypes", "ContentType")
    content_type.objects.get_or_create(app_label="documents", model="page")

    # WHEN the database is migrated to the new layout
    new = migrator.apply_tested_migration(NEW_LAYOUT)

    # THEN every row is there, as processing's, with what it held
    page = new.apps.get_model("processing", "Page").objects.get(document_id=document.id, number=1)
    assert (page.status, page.text, page.words, page.lease_owner, page.crash_count, page.reads_text_layer) == (
        "done", "Metformin 500 mg", [{"text": "Metformin"}], "host:1", 2, True,
    )  # fmt: skip
    worker = new.apps.get_model("processing", "WorkerProcess").objects.get(name="host:1")
    assert (worker.queues, worker.rss_bytes, worker.last_heartbeat) == (["pages"], 123, NOW)
    assert new.apps.get_model("processing", "MetricTally").objects.get(name="pages_recovered").count == 7
    # AND the page's content type (its permissions, its admin history) moved with it
    moved = new.apps.get_model("contenttypes", "ContentType").objects.filter(model="page")
    assert list(moved.values_list("app_label", flat=True)) == ["processing"]
    # AND a page of the document can still be added: the id sequence came along
    added = new.apps.get_model("processing", "Page").objects.create(document_id=document.id, number=2)
    assert added.id > page.id
    migrator.reset()
