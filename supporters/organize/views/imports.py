"""Imports of supporters from a file: the upload, its progress and its error report."""

from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from supporters.organize import roles
from supporters.organize.forms import ImportForm
from supporters.organize.models import Import


@require_http_methods(["GET", "POST"])
@roles.permission_required(roles.IMPORT_SUPPORTERS)
def import_upload(request):
    from supporters.organize.imports import import_create

    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = import_create(upload=form.cleaned_data["file"], user=request.user, queue=True)
        return redirect("organize:import", pk=job.pk)
    return render(
        request,
        "organize/import_upload.html",
        {"form": form, "imports": Import.objects.all()[:20]},
        status=400 if form.errors else 200,
    )


def _import_progress(job: Import) -> dict:
    progress = {
        "status": job.status,
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "created": job.created,
        "updated": job.updated,
        "failed": job.failed,
        "percent": round(100 * job.rows_done / job.rows_total) if job.rows_total else 0,
        "message": job.message,
    }
    progress["text"] = _(
        "%(status)s: %(done)s of %(total)s rows; %(created)s new, %(updated)s updated, "
        "%(failed)s problems"
    ) % {
        "status": job.get_status_display(),
        "done": job.rows_done,
        "total": job.rows_total,
        "created": job.created,
        "updated": job.updated,
        "failed": job.failed,
    }
    return progress


@require_GET
@roles.permission_required(roles.IMPORT_SUPPORTERS)
def import_detail(request, pk: int):
    job = get_object_or_404(Import, pk=pk)
    return render(
        request,
        "organize/import.html",
        {"job": job, "progress": _import_progress(job), "errors": job.errors[:50]},
    )


@require_GET
@roles.permission_required(roles.IMPORT_SUPPORTERS)
def import_progress(request, pk: int):
    return JsonResponse(_import_progress(get_object_or_404(Import, pk=pk)))


@require_GET
@roles.permission_required(roles.IMPORT_SUPPORTERS)
def import_errors(request, pk: int):
    from supporters.organize.imports import error_report_csv

    job = get_object_or_404(Import, pk=pk)
    response = HttpResponse(error_report_csv(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response
