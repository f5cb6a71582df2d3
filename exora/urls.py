from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from documents.api import DocumentViewSet
from exora import tokens, twofactor

# A database with no connection free answers 503 with Retry-After, never 500 (exora/errors.py).
handler500 = "exora.errors.server_error"

router = DefaultRouter()
router.register("documents", DocumentViewSet, basename="document")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", twofactor.two_factor, name="two-factor"),
    path("tokens/", tokens.tokens, name="tokens"),
    path("tokens/revoke/", tokens.revoke, name="tokens-revoke"),
    # A program revokes the token it signs with (POST, 204).
    path("api/v1/auth/logout/", tokens.ApiLogoutView.as_view(), name="api-logout"),
    path("api/v1/", include((router.urls, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The init script is its own file (the Split view), so the page needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("", include("dashboard.urls")),
    path("", include("documents.urls")),
]
