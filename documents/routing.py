from django.urls import path

from documents.consumers import DocumentStatusConsumer

websocket_urlpatterns = [path("ws/documents/", DocumentStatusConsumer.as_asgi())]
