from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: backups, the API schema, behaviour when the database is away."""

    name = "ops"
    default_auto_field = "django.db.models.BigAutoField"
