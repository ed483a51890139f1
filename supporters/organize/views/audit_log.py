"""The audit log, for admins: who looked at, exported or messaged whom."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from supporters.organize import roles
from supporters.organize.models import AuditEntry


@require_GET
@roles.permission_required(roles.VIEW_AUDIT)
def audit_log(request):
    page = Paginator(AuditEntry.objects.all(), 100).get_page(request.GET.get("page"))
    return render(request, "organize/audit.html", {"page": page})
