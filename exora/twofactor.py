"""Time-based one-time passwords for staff (django-otp), when EXORA_STAFF_2FA is on.

Staff reach /ops/ and /admin/ only from a session verified with a code from an authenticator
app: `StaffTwoFactorMiddleware` sends an unverified one to /accounts/two-factor/, which enrols
a first device (its key shown once, until confirmed with a code) or asks for a code. An
operator resets a person's device by deleting it in the admin (OTP_TOTP | TOTP devices).
"""

import base64
from collections.abc import Callable
from urllib.parse import quote

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from exora.requests import SignedInRequest

PROTECTED = ("/ops/", "/admin/")
OPEN = ("/admin/login/", "/admin/logout/")


def needs_second_factor(request: HttpRequest) -> bool:
    user = request.user
    return bool(
        settings.EXORA_STAFF_2FA and user.is_authenticated and user.is_staff and not user.is_verified()  # type: ignore[attr-defined]  # django_otp's middleware adds it
    )


class StaffTwoFactorMiddleware:
    """After django_otp's OTPMiddleware: /ops/ and /admin/ need a verified staff session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(PROTECTED) and not path.startswith(OPEN) and needs_second_factor(request):
            return redirect(f"{reverse('two-factor')}?next={quote(request.get_full_path())}")
        return self.get_response(request)


class CodeForm(forms.Form):
    code = forms.CharField(label="Code from your authenticator app", max_length=8, min_length=6)


def _device_of(user: User) -> tuple[TOTPDevice, bool]:
    """The person's confirmed device, or the one being enrolled (made now); and whether it is
    confirmed."""
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if confirmed is not None:
        return confirmed, True
    enrolling = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if enrolling is None:
        enrolling = TOTPDevice.objects.create(user=user, name="authenticator app", confirmed=False)
    return enrolling, False


@login_required
def two_factor(request: SignedInRequest) -> HttpResponse:
    """Enrol an authenticator app, or give its code, to open a verified staff session."""
    if not request.user.is_staff:
        return HttpResponseForbidden("Two-factor sign-in is for operators.")
    device, confirmed = _device_of(request.user)
    form = CodeForm(request.POST or None)
    allowed, _ = device.verify_is_allowed()  # wrong codes make the next wait longer (django-otp)
    if request.method == "POST" and form.is_valid() and not allowed:
        form.add_error("code", "Too many wrong codes: wait a few seconds, then give the one your app shows.")
    elif request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"].strip()):
            if not confirmed:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            wanted = request.GET.get("next", "")
            safe = url_has_allowed_host_and_scheme(wanted, {request.get_host()}, request.is_secure())
            return redirect(wanted if safe and wanted else reverse("dashboard:index"))
        form.add_error("code", "That code is not right, or has expired: give the one your app shows now.")
    context = {
        "form": form,
        "enrolling": not confirmed,
        # Shown only until the device is confirmed: the key is the second factor itself.
        "key": "" if confirmed else _base32(device),
        "config_url": "" if confirmed else device.config_url,
    }
    return render(request, "registration/two_factor.html", context)


def _base32(device: TOTPDevice) -> str:
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))
