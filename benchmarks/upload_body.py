"""The body of one API upload, shared by the benchmark's own uploads and its locust clients
(which import nothing of Django: gevent patches what they import)."""

import uuid


def upload_body(template: bytes, filename: str) -> tuple[bytes, str]:
    """A multipart body carrying `template` with bytes of its own added (so no two uploads are
    the same file), and the Content-Type that names its boundary."""
    boundary = uuid.uuid4().hex
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
    head += "Content-Type: application/pdf\r\n\r\n"
    content = template + f"\n%{uuid.uuid4().hex}\n".encode()
    body = head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"
