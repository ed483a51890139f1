from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from supporters import services
from supporters.models import ConsentRecord, MergedAddress, OutboxMessage, Supporter
from supporters.organize.models import SupporterMerge


class ConsentRecordInline(admin.TabularInline):
    model = ConsentRecord
    extra = 0
    can_delete = False
    readonly_fields = ["purpose", "granted", "created_at", "source", "wording_version"]

    def has_add_permission(self, request, obj=None):
        return False  # consent is given by the person, never typed in for them


class MergedAddressInline(admin.TabularInline):
    """Addresses of records merged into this one: they still find this person."""

    model = MergedAddress
    extra = 0
    can_delete = False
    readonly_fields = ["email", "merged_at"]

    def has_add_permission(self, request, obj=None):
        return False


class SupporterMergeInline(admin.TabularInline):
    """Records merged into this one (organizer workspace, Possible duplicates)."""

    model = SupporterMerge
    fk_name = "kept"
    extra = 0
    can_delete = False
    readonly_fields = ["merged_at", "merged_by", "merged_email", "merged_name", "moved", "dropped"]
    exclude = ["merged_id"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Supporter)
class SupporterAdmin(LeafletGeoAdmin):
    list_display = [
        "display_name",
        "email",
        "status",
        "city",
        "country_code",
        "consent_public_map",
        "consent_introductions",
        "consent_event_invitations",
        "consent_email_updates",
        "created_at",
    ]
    list_filter = [
        "status",
        "country_code",
        "consent_public_map",
        "consent_introductions",
        "consent_event_invitations",
        "consent_email_updates",
        "frequency",
        "language",
    ]
    search_fields = ["email", "display_name", "city"]
    readonly_fields = [
        "id",
        "created_at",
        "confirmed_at",
        "cell",
        "location_precision",
        "location_source",
        "location_changed_at",
        "consent_public_map",
        "consent_introductions",
        "consent_event_invitations",
        "consent_email_updates",
    ]
    inlines = [ConsentRecordInline, MergedAddressInline, SupporterMergeInline]
    date_hierarchy = "created_at"
    list_per_page = 50
    settings_overrides = {"DEFAULT_ZOOM": 12}


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):
    list_display = ["supporter", "purpose", "granted", "source", "wording_version", "created_at"]
    list_filter = ["purpose", "granted", "source"]
    readonly_fields = ["supporter", "purpose", "granted", "source", "wording_version", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = [
        "kind",
        "to_email",
        "subject",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    ]
    # "sent" with no sent_at: the worker died between committing "sent" and the server's
    # answer to the end of the message (supporters/mailer.py): check the mail log.
    list_filter = ["status", ("sent_at", admin.EmptyFieldListFilter), "kind"]
    search_fields = ["to_email", "subject"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["queue_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Queue the selected failed messages again", permissions=["change"])
    def queue_again(self, request, queryset):
        count = services.outbox_requeue(messages=queryset)
        self.message_user(request, f"{count} message(s) queued again.")


from supporters.organize import admin as organize_admin  # noqa: E402,F401  (registers its models)
