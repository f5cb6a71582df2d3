"""Where files live: uploads, their repaired copies and page images.

`local` (the default) keeps them under the data dir, for one machine. `s3` keeps them in an
S3-compatible bucket (django-storages), so web and worker hosts share no disk; the keys and the
region come from the usual AWS_* variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_DEFAULT_REGION). Workers read files through a bounded local cache (processing/files.py),
since poppler and Tesseract need files on disk.
"""

from typing import Any

from exora import env
from exora.settings.django import DATA_DIR

EXORA_STORAGE = env.get_choice("EXORA_STORAGE", "local", ("local", "s3"))
EXORA_S3_BUCKET = env.get_str("EXORA_S3_BUCKET", "")
EXORA_S3_ENDPOINT_URL = env.get_str("EXORA_S3_ENDPOINT_URL", "")  # empty: AWS itself
EXORA_S3_REGION = env.get_str("AWS_DEFAULT_REGION", "us-east-1")
# Page images are streamed to their owner through the ownership-checked view; with this on, the
# view answers with a short-lived signed link to the bucket instead.
EXORA_S3_SIGNED_URLS = env.get_bool("EXORA_S3_SIGNED_URLS", False)
EXORA_S3_SIGNED_URL_SECONDS = env.get_int("EXORA_S3_SIGNED_URL_SECONDS", 60, minimum=5)

# The workers' copies of the files they read, by content (sha256); least recently used out.
EXORA_CACHE_DIR = env.get_path("EXORA_CACHE_DIR", DATA_DIR / "cache")
EXORA_CACHE_MAX_MB = env.get_int("EXORA_CACHE_MAX_MB", 2048, minimum=1)


def s3_storage(bucket: str) -> dict[str, Any]:
    """The default storage in a bucket (django-storages, exora/storage.py)."""
    return {
        "BACKEND": "exora.storage.BucketStorage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": EXORA_S3_ENDPOINT_URL or None,
            "region_name": EXORA_S3_REGION,
            "signature_version": "s3v4",
            # Bucket names in the path work with every S3-compatible server, not only AWS.
            "addressing_style": "path",
            "file_overwrite": False,  # names are unique; never replace another upload's file
            "default_acl": None,  # the bucket stays private: nothing is public-read
            "querystring_auth": True,  # any link to an object is signed, and expires
            "querystring_expire": EXORA_S3_SIGNED_URL_SECONDS,
        },
    }


# WhiteNoise serves what collectstatic put in STATIC_ROOT (`make run` runs it), compressed.
# Not the manifest storage: without a manifest from collectstatic every page would fail to
# render, and unit tests render pages without running it.
STORAGES = {
    "default": s3_storage(EXORA_S3_BUCKET)
    if EXORA_STORAGE == "s3"
    else {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
