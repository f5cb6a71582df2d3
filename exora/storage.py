"""The bucket storage: django-storages' S3Storage, with a small file sent in one request.

S3Storage sends every file through boto3's transfer manager (a pool of threads, futures and
multipart bookkeeping), which costs 3 ms of CPU per file beyond the request itself: a third of
what a born-digital page costs a worker, whose display image (tens of KB) is stored per page.
A file up to the manager's own multipart threshold goes up in one PutObject request, with the
same parameters (content type, ACL, metadata); larger ones (uploads of many MB) keep the manager.
"""

from typing import Any

from django.core.files import File
from storages.backends.s3 import S3Storage
from storages.utils import clean_name, is_seekable

SINGLE_REQUEST_BYTES = 8 * 1024 * 1024  # boto3's TransferConfig.multipart_threshold default


class BucketStorage(S3Storage):
    def _save(self, name: str, content: File[Any]) -> str:
        size = getattr(content, "size", None)
        if self.gzip or size is None or size > SINGLE_REQUEST_BYTES:
            return str(super()._save(name, content))
        cleaned_name = clean_name(name)
        key = self._normalize_name(cleaned_name)
        parameters = self._get_write_parameters(key, content)
        if is_seekable(content):
            content.seek(0)
        body = content.read()
        self.connection.meta.client.put_object(
            Bucket=self.bucket_name, Key=key, Body=body.encode() if isinstance(body, str) else body, **parameters
        )
        return str(cleaned_name)
