"""Pages for people: my documents (with upload), one document, its downloads, cancel and retry."""

import json
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from access import records
from access.records import Door
from documents import events, lifecycle, notifications, selectors, services
from documents.extraction import extraction_view
from documents.uploads import too_large_message, upload_was_too_large
from exora.requests import SignedInRequest


@login_required
def document_list(request: SignedInRequest) -> HttpResponse:
    context = {
        "documents": selectors.documents_of(request.user),
        "email_on_finish": notifications.wants_email_setting(request.user),
    }
    return render(request, "documents/list.html", context)


@login_required
@require_POST
def upload(request: SignedInRequest) -> HttpResponse:
    """The form fallback for browsers without JavaScript; the page itself uploads via the API."""
    files = request.FILES.getlist("file")
    if upload_was_too_large(request):
        messages.error(request, too_large_message())
    for upload_file in files:
        try:
            services.document_upload(request.user, upload_file)
        except services.UploadRejected as rejected:
            messages.error(request, f"{upload_file.name}: {rejected.message}")
        else:
            _wait, notice = selectors.expected_wait()
            messages.success(request, f"{upload_file.name}: queued. {notice}".strip())
    return redirect("documents:list")


@login_required
def document_detail(request: SignedInRequest, document_id: str) -> HttpResponse:
    document = selectors.document_of(request.user, document_id)
    _record_read(request, Door.PAGE, document)
    context = {
        "document": document,
        "pages": selectors.pages_of(document),
        "next_step": selectors.next_step(document),
        "extraction": extraction_view(document),
    }
    return render(request, "documents/detail.html", context)


@login_required
@require_POST
def cancel(request: SignedInRequest, document_id: str) -> HttpResponse:
    return _change_status(request, document_id, lifecycle.document_cancel, "Cancelled. Pages already read are kept.")


@login_required
@require_POST
def retry(request: SignedInRequest, document_id: str) -> HttpResponse:
    return _change_status(request, document_id, lifecycle.document_retry, "Queued again.")


def _change_status(
    request: SignedInRequest, document_id: str, change: Callable[..., object], done: str
) -> HttpResponse:
    document = selectors.document_of(request.user, document_id)
    try:
        change(document.id, request.user)
    except lifecycle.StatusConflict as conflict:
        messages.error(request, conflict.message)
    else:
        messages.success(request, done)
    return redirect("documents:detail", document_id=document.id)


@login_required
@require_POST
def delete(request: SignedInRequest, document_id: str) -> HttpResponse:
    """Delete the document and every file of it, for good."""
    document = selectors.document_of(request.user, document_id)
    lifecycle.document_delete(document.id, request.user)
    messages.success(request, "Deleted, with its pages and every file of it.")
    return redirect("documents:list")


@login_required
def page_image(
    request: SignedInRequest, document_id: str, number: int
) -> HttpResponse | FileResponse | HttpResponseRedirect:
    """The page's image, to its owner only: streamed from the storage, or, with
    EXORA_S3_SIGNED_URLS, a redirect to a link to the bucket that expires within a minute."""
    page = selectors.page_of(request.user, document_id, number)
    if not page.image:
        return HttpResponse(status=404)
    _record_read(request, Door.PAGE_IMAGE, page.document)
    if settings.EXORA_STORAGE == "s3" and settings.EXORA_S3_SIGNED_URLS:
        return HttpResponseRedirect(page.image.url)
    return FileResponse(page.image.open("rb"), content_type="image/jpeg")


@login_required
def download_text(request: SignedInRequest, document_id: str) -> HttpResponse:
    document = selectors.document_of(request.user, document_id)
    _record_read(request, Door.TEXT, document)
    response = HttpResponse(selectors.document_text(document), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{document.id}.txt"'
    return response


@login_required
def download_json(request: SignedInRequest, document_id: str) -> HttpResponse:
    document = selectors.document_of(request.user, document_id)
    _record_read(request, Door.JSON, document)
    body = json.dumps(selectors.document_result(document), indent=2)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{document.id}.json"'
    return response


@login_required
def status_json(request: SignedInRequest, document_id: str) -> HttpResponse:
    """What the pages poll when their socket cannot work: the socket's message, plus the
    status in words and whether it is finished."""
    document = selectors.document_of(request.user, document_id)
    state = {**events.state_of(document), "status_text": document.status_text}
    return HttpResponse(json.dumps(state), content_type="application/json")


@login_required
@require_POST
def notification_preferences(request: SignedInRequest) -> HttpResponse:
    enabled = request.POST.get("email_on_finish") == "on"
    notifications.set_email_on_finish(request.user, enabled)
    messages.success(request, "You will get an e-mail when a document finishes." if enabled else "No more e-mails.")
    return redirect("documents:list")


@login_required
def reads(request: SignedInRequest) -> HttpResponse:
    """Who read my documents: every recorded read of their content, the latest first."""
    recent = list(records.reads_of_documents_owned_by(request.user.id)[:500])
    names = selectors.names_of(request.user, records.document_ids(recent))
    rows = [{"read": read, "name": names.get(read.document_id, "(deleted)")} for read in recent]
    return render(request, "documents/reads.html", {"rows": rows})


def _record_read(request: SignedInRequest, door: str, document: object) -> None:
    records.record(request.user, door, [document], records.address_of(request.META))  # type: ignore[list-item]
