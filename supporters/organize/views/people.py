"""One person's page in the workspace, for coordinators: their record, the current consent
per purpose with the decision behind it, tags, and the records merged into theirs."""

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from supporters.models import Purpose, Supporter
from supporters.organize import roles
from supporters.organize.audit import Actor, audit_record
from supporters.organize.models import AuditEntry
from supporters.organize.views.duplicates import described


@require_GET
@roles.permission_required(roles.VIEW_PEOPLE)
def person_detail(request, pk):
    person = get_object_or_404(Supporter, pk=pk)
    latest = {}
    for record in person.consent_records.all():  # newest first (Meta.ordering)
        latest.setdefault(record.purpose, record)
    consents = [(purpose.label, getattr(person, f"consent_{purpose.value}"), latest.get(purpose))
                for purpose in Purpose]  # fmt: skip
    merges = [
        (m, described(m.moved), described(m.dropped))
        for m in person.merges.select_related("merged_by")
    ]
    audit_record(
        actor=Actor.of(request),
        action=AuditEntry.Action.VIEW_PEOPLE,
        filter={"page": "person"},
        row_count=1,
        detail=str(person.pk),
    )
    context = {
        "person": person,
        "consents": consents,
        "tags": list(person.taggings.order_by("name").values_list("name", flat=True)),
        "addresses": list(person.merged_addresses.order_by("merged_at")),
        "merges": merges,
    }
    return render(request, "organize/person.html", context)
