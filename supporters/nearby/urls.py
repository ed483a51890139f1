"""URLs of nearby: /nearby/ (activists), /events/, and the moderation queue at
/organize/moderation/ (staff). The events layer is an API operation (supporters/nearby/api.py)."""

from django.urls import include, path

from supporters.nearby import views
from supporters.organize.views import moderation

nearby_patterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in_request, name="sign_in_request"),
    path("sign-in/<str:token>/", views.sign_in, name="sign_in"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("introductions/", views.introduction_request, name="introduction_request"),
    path("introductions/<str:token>/", views.introduction, name="introduction"),
    path("introductions/<str:token>/report/", views.introduction_report, name="report"),
    path("events/new/", views.event_new, name="event_new"),
    path("events/<uuid:pk>/", views.event_manage, name="event_manage"),
]

event_patterns = [
    path("", views.events, name="list"),
    path("<uuid:pk>/", views.event_detail, name="detail"),
    path("<uuid:pk>/rsvp/", views.event_rsvp_signed_in, name="rsvp_signed_in"),
    path("rsvp/<str:token>/", views.rsvp, name="rsvp"),
]

moderation_patterns = [
    path("", moderation.moderation, name="queue"),
    path("reports/<int:pk>/", moderation.moderation_report, name="report"),
    path("events/<uuid:pk>/", moderation.moderation_event, name="event"),
    path("activity/", moderation.moderation_activity, name="activity"),
    path("areas/<int:area>/", moderation.moderation_area, name="area"),
]

urlpatterns = [
    path("nearby/", include((nearby_patterns, "nearby"))),
    path("events/", include((event_patterns, "events"))),
    path("organize/moderation/", include((moderation_patterns, "moderation"))),
]
