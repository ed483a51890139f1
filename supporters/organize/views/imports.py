"""Imports of supporters from a file: the upload, its mapping and preview, its progress
and its error report, and what can follow a dry run."""

from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from supporters.organize import roles
from supporters.organize.forms import ImportForm, ImportMappingForm
from supporters.organize.imports import (
    FileGone,
    error_report_csv,
    import_after_dry_run,
    import_create,
    import_discard,
    import_preview,
    import_remap,
    import_start,
)
from supporters.organize.models import Import


@require_http_methods(["GET", "POST"])
@roles.permission_required(roles.IMPORT_SUPPORTERS)
def import_upload(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = import_create(upload=form.cleaned_data["file"], user=request.user)
        return redirect("organize:import_map", pk=job.pk)
    return render(
        request,
        "organize/import_upload.html",
        {"form": form, "imports": Import.objects.all()[:20]},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@roles.permission_required(roles.IMPORT_SUPPORTERS)
def import_map(request, pk: int):
    job = get_object_or_404(Import, pk=pk)
    if job.status != Import.Status.NEW:
        return redirect("organize:import", pk=job.pk)
    form = ImportMappingForm(request.POST or None, job=job)
    if form.starts():
        job = import_start(
            job=job,
            columns=form.columns(),
            options=form.options(),
            dry_run=form.action == "dry_run",
            user=request.user,
            save_as=form.cleaned_data["save_as"],
            header_cells=form.sheet.header_cells,
        )
        return redirect("organize:import", pk=job.pk)
    preview = []
    if form.sheet and not form.errors:
        preview = import_preview(sheet=form.sheet, columns=form.columns(), options=form.options())
    return render(
        request,
        "organize/import_map.html",
        {"job": job, "form": form, "preview": preview},
        status=400 if form.errors or form.file_error else 200,
    )


@require_POST
@roles.permission_required(roles.IMPORT_SUPPORTERS)
def import_confirm(request, pk: int):
    """Import for real the file of a dry run."""
    job = get_object_or_404(Import, pk=pk, dry_run=True)
    try:
        real = import_after_dry_run(job=job, user=request.user)
    except FileGone:
        messages.error(request, _("The file of this dry run is gone; upload it again."))
        return redirect("organize:import", pk=job.pk)
    return redirect("organize:import", pk=real.pk)


@require_POST
@roles.permission_required(roles.IMPORT_SUPPORTERS)
def import_map_again(request, pk: int):
    """Map the file of a dry run again (a new import, waiting for its mapping)."""
    job = get_object_or_404(Import, pk=pk, dry_run=True)
    try:
        again = import_remap(job=job, user=request.user)
    except FileGone:
        messages.error(request, _("The file of this dry run is gone; upload it again."))
        return redirect("organize:import", pk=job.pk)
    return redirect("organize:import_map", pk=again.pk)


@require_POST
@roles.permission_required(roles.IMPORT_SUPPORTERS)
def import_delete(request, pk: int):
    """Delete the uploaded file of an import not yet mapped, or of a dry run."""
    job = get_object_or_404(Import, pk=pk)
    if not import_discard(job=job):
        messages.error(request, _("This import's file is in use or gone already."))
        return redirect("organize:import", pk=job.pk)
    messages.success(request, _("The uploaded file is deleted."))
    return redirect("organize:imports")


def _progress_text(job: Import) -> str:
    """The progress line, as the page and its polling show it."""
    numbers = {
        "status": capfirst(job.get_status_display()),
        "done": job.rows_done,
        "total": job.rows_total,
        "created": job.created,
        "updated": job.updated,
        "problems": ngettext("%(n)s problem", "%(n)s problems", job.failed) % {"n": job.failed},
    }
    if job.dry_run:
        text = _(
            "%(status)s (dry run): %(done)s of %(total)s rows; %(created)s would be new, "
            "%(updated)s would be updated, %(problems)s"
        )
    else:
        text = _(
            "%(status)s: %(done)s of %(total)s rows; %(created)s new, %(updated)s updated, "
            "%(problems)s"
        )
    return text % numbers


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
    progress["text"] = _progress_text(job)
    return progress


@require_GET
@roles.permission_required(roles.IMPORT_SUPPORTERS)
def import_detail(request, pk: int):
    job = get_object_or_404(Import, pk=pk)
    if job.status == Import.Status.NEW:
        return redirect("organize:import_map", pk=job.pk)
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

    job = get_object_or_404(Import, pk=pk)
    response = HttpResponse(error_report_csv(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response
