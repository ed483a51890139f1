"""Texting a segment (to be written)."""

from django.http import Http404


def texting_create(request, pk: int):
    raise Http404


def texting_detail(request, pk: int):
    raise Http404


def texting_progress(request, pk: int):
    raise Http404
