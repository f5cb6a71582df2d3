"""Health probes answered before Django looks at the Host header.

Kubernetes and load balancers probe a process by its address (`Host: 10.0.3.7:8000`), which
is in no ALLOWED_HOSTS list; checked like any other request, every probe would get a 400 and
the process would be restarted for ever. The probes say nothing that depends on the host.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from dashboard import views

PROBES = {"/healthz": views.healthz, "/readyz": views.readyz}


class HealthProbesMiddleware:
    """First in settings.MIDDLEWARE: nothing before it may read the Host header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        return probe(request) if probe is not None else self.get_response(request)
