from django.apps import AppConfig
from django.conf import settings
from PIL import Image


class ProcessingConfig(AppConfig):
    name = "processing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Pillow's own bomb guard then agrees with the limit our checks name in their message.
        Image.MAX_IMAGE_PIXELS = settings.EXORA_MAX_IMAGE_PIXELS
