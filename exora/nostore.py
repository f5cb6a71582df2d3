"""Private by default: a response that does not say how it may be cached is never stored.

Documents' pages, page images, downloads and API results carry medical content; a shared or
browser cache must not keep them. Static files (WhiteNoise, before this in MIDDLEWARE) and
responses that set their own Cache-Control keep theirs.
"""

from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import add_never_cache_headers


class PrivateByDefaultMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private
        return response
