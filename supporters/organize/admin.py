"""The audit log in the admin site: readable by admins, never editable by anyone."""

from django.contrib import admin

from supporters.organize.models import AuditEntry, Import, Mailing, Segment


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "detail", "row_count", "client"]
    list_filter = ["action", "actor"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "purpose", "radius_km", "created_by", "created_at"]


@admin.register(Mailing)
class MailingAdmin(admin.ModelAdmin):
    list_display = ["subject", "segment", "status", "recipients_total", "created_at"]
    readonly_fields = ["status", "recipients_total", "created_by"]


@admin.register(Import)
class ImportAdmin(admin.ModelAdmin):
    list_display = ["filename", "status", "rows_total", "created", "updated", "failed"]
    exclude = ["errors"]
