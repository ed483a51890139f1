from django.contrib import admin
from django.urls import include, path

from mapsite.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", api.urls),
    path("", include("geo.map_urls")),
    path("", include("supporters.urls")),
    path("", include("supporters.organize.urls")),
    path("", include("supporters.nearby.urls")),
    path("", include("supporters.groups.urls")),
    path("", include("supporters.sms.urls")),
]

# 503 with Retry-After while the database is unreachable, else the usual 500.
handler500 = "ops.views.server_error"
