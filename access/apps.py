from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "Record of reads"
    default_auto_field = "django.db.models.BigAutoField"
