"""REST API for documents: upload, list, detail, the read result, cancel, retry and delete."""

from collections.abc import Callable
from typing import Any, NoReturn

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from access import records
from access.records import Door
from documents import lifecycle, selectors, services
from documents.models import Document
from documents.uploads import too_large_message, upload_was_too_large


class TokenScheme(KnoxTokenScheme):
    """The API docs' token scheme for exora.token_auth's authentication, knox's with a query less
    (drf-spectacular matches knox's class only, not its subclasses)."""

    target_class = "exora.token_auth.TokenAuthentication"


class DocumentSerializer(serializers.ModelSerializer[Document]):
    status_text = serializers.CharField(read_only=True)
    links = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id", "original_name", "status", "status_text", "error", "page_count", "pages_done",
            "size_bytes", "sha256", "mime_type", "ocr_mode", "created_at", "started_at",
            "finished_at", "timings", "links",
        ]  # fmt: skip
        read_only_fields = fields

    def get_links(self, document: Document) -> dict[str, str]:
        request = self.context["request"]
        return {
            "self": request.build_absolute_uri(reverse("api:document-detail", args=[document.id])),
            "result": request.build_absolute_uri(reverse("api:document-result", args=[document.id])),
            "text": request.build_absolute_uri(reverse("api:document-text", args=[document.id])),
            "web": request.build_absolute_uri(reverse("documents:detail", args=[document.id])),
        }


class UploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(allow_empty_file=True)  # the service says why an empty file is refused
    ocr_mode = serializers.ChoiceField(choices=Document.OcrMode.choices, required=False)


class DocumentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet[Document]
):
    serializer_class = DocumentSerializer
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [ScopedRateThrottle]

    @property
    def throttle_scope(self) -> str:
        """Uploads are counted per person per hour; everything else per minute."""
        return "uploads" if self.action == "create" else "reads"

    def throttled(self, request: Request, wait: float | None) -> NoReturn:
        if self.action == "create":
            limit = f"at most {settings.EXORA_API_UPLOADS_PER_HOUR} uploads an hour"
        else:
            limit = f"at most {settings.EXORA_API_READS_PER_MINUTE} requests a minute"
        raise exceptions.Throttled(wait, detail=f"Too many requests: {limit}. Try again in {round(wait or 0)} s.")

    def get_queryset(self) -> QuerySet[Document]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types, with no one signed in
            return Document.objects.none()
        return selectors.documents_of(_signed_in(self.request))

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={201: DocumentSerializer})
    def create(self, request: Request) -> Response:
        upload = UploadSerializer(data=request.data)
        if upload_was_too_large(request):
            return Response({"detail": too_large_message()}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        upload.is_valid(raise_exception=True)
        try:
            document = services.document_upload(
                _signed_in(request), upload.validated_data["file"], upload.validated_data.get("ocr_mode")
            )
        except services.UploadRejected as rejected:
            body: dict[str, Any] = {"detail": rejected.message}
            if rejected.existing is not None:
                body["existing"] = DocumentSerializer(rejected.existing, context={"request": request}).data
            retry = {"Retry-After": str(rejected.retry_after)} if rejected.retry_after else None
            return Response(body, status=rejected.http_status, headers=retry)
        data = DocumentSerializer(document, context={"request": request}).data
        # The answer comes at once however long the queue; it says how long the wait is.
        data["expected_wait_seconds"], data["notice"] = selectors.expected_wait()
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["links"]["self"]})

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # A program polls this while it waits: its reads are recorded once per window, like a
        # socket's or the dashboard's, rather than an insert every two seconds.
        return Response(self.get_serializer(self._read(Door.API_DOCUMENT, once_per_window=True)).data)

    @extend_schema(responses={200: dict})
    @action(detail=True)
    def result(self, request: Request, pk: str) -> Response:
        """The pages as read: text, words with boxes and confidences, and timings."""
        return Response(selectors.document_result(self._read(Door.API_RESULT)))

    @extend_schema(responses={(200, "text/plain"): str})
    @action(detail=True)
    def text(self, request: Request, pk: str) -> HttpResponse:
        return HttpResponse(
            selectors.document_text(self._read(Door.API_TEXT)), content_type="text/plain; charset=utf-8"
        )

    def _read(self, door: str, *, once_per_window: bool = False) -> Document:
        """The document asked for (404 unless it is the user's), its read recorded."""
        document = self.get_object()
        address = records.address_of(self.request.META)
        records.record(self.request.user, door, [document], address, once_per_window=once_per_window)
        return document

    @extend_schema(request=None, responses={200: DocumentSerializer, 409: dict})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Stop a queued or running document; pages already read are kept. 409 once finished."""
        return self._change_status(lifecycle.document_cancel)

    @extend_schema(request=None, responses={200: DocumentSerializer, 409: dict})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        """Queue a failed or cancelled document again; only pages not read yet are read. 409 otherwise."""
        return self._change_status(lifecycle.document_retry)

    def perform_destroy(self, instance: Document) -> None:
        """DELETE: the document, its pages and every file of it, for good (204)."""
        lifecycle.document_delete(instance.id, self.request.user)

    def _change_status(self, change: Callable[..., Document]) -> Response:
        document = self.get_object()
        try:
            document = change(document.id, self.request.user)
        except lifecycle.StatusConflict as conflict:
            return Response({"detail": conflict.message}, status=status.HTTP_409_CONFLICT)
        return Response(DocumentSerializer(document, context={"request": self.request}).data)


def _signed_in(request: Request) -> User:
    """The API's user: every route needs one (DEFAULT_PERMISSION_CLASSES: IsAuthenticated)."""
    assert isinstance(request.user, User)
    return request.user
