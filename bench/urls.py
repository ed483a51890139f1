"""The site's URLs plus a hello-world view: the ceiling the sign-up POST is compared to,
served by the same gunicorn, through the same middleware."""

from django.http import HttpResponse
from django.urls import path

from mapsite.urls import urlpatterns as site_urlpatterns


def hello(request):
    return HttpResponse("Hello, world", content_type="text/plain")


urlpatterns = [path("bench/hello/", hello), *site_urlpatterns]
