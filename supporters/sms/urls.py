from django.urls import path

from supporters.sms import hooks, inbox_views, texting_views

app_name = "sms"

urlpatterns = [
    path("sms/hooks/<str:name>/", hooks.hook, name="hook"),
    # The workspace: texting a segment, its send log; received texts; the survey.
    path("organize/segments/<int:pk>/text/", texting_views.texting_create, name="texting_new"),
    path("organize/texts/<int:pk>/", texting_views.texting_detail, name="texting"),
    path(
        "organize/texts/<int:pk>/progress/",
        texting_views.texting_progress,
        name="texting_progress",
    ),
    path("organize/texts/inbox/", inbox_views.inbox, name="inbox"),
    path("organize/texts/inbox/<int:pk>/done/", inbox_views.inbox_done, name="inbox_done"),
    path("organize/texts/survey/", inbox_views.survey, name="survey"),
]
