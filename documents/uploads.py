"""An upload handler that refuses a file over the size limit while it streams in."""

from typing import IO, Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict

TOO_LARGE_FLAG = "exora_upload_too_large"


class SizeLimitUploadHandler(FileUploadHandler):
    """Stops reading an upload past EXORA_MAX_UPLOAD_MB and marks the request, so the view can
    answer 413; nothing past the limit is kept in memory or on disk."""

    def handle_raw_input(
        self,
        input_data: IO[bytes],
        META: dict[str, Any],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> tuple[QueryDict, MultiValueDict[str, Any]] | None:
        # A declared length far over the limit is refused before a byte is parsed.
        if content_length and content_length > settings.EXORA_MAX_UPLOAD_BYTES + 64 * 1024:
            setattr(self.request, TOO_LARGE_FLAG, True)
            return QueryDict(), MultiValueDict()
        return None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.EXORA_MAX_UPLOAD_BYTES:
            self._refuse()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None

    def _refuse(self) -> None:
        setattr(self.request, TOO_LARGE_FLAG, True)
        raise StopUpload(connection_reset=False)


def upload_was_too_large(request: HttpRequest | Any) -> bool:
    request = getattr(request, "_request", request)  # a DRF request wraps Django's
    return bool(getattr(request, TOO_LARGE_FLAG, False))


def too_large_message() -> str:
    return f"The file is larger than the {settings.EXORA_MAX_UPLOAD_MB} MB limit."
