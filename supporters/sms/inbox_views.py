"""Received texts and the survey by text (to be written)."""

from django.http import Http404


def inbox(request):
    raise Http404


def inbox_done(request, pk: int):
    raise Http404


def survey(request):
    raise Http404
