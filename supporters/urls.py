from django.urls import path

from supporters import views

app_name = "supporters"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("join/", views.join, name="join"),
    path("join/thanks/", views.join_done, name="join_done"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("manage/", views.manage_request, name="manage_request"),
    path("manage/<str:token>/", views.manage, name="manage"),
    path("manage/<str:token>/consents/", views.manage_consents, name="manage_consents"),
    path("manage/<str:token>/profile/", views.manage_profile, name="manage_profile"),
    path("manage/<str:token>/location/", views.manage_location, name="manage_location"),
    path("manage/<str:token>/export/", views.manage_export, name="manage_export"),
    path(
        "manage/<str:token>/groups/<uuid:membership>/leave/",
        views.manage_group_leave,
        name="manage_group_leave",
    ),
    path("manage/<str:token>/delete/", views.manage_delete, name="manage_delete"),
    path("manage/<str:token>/unsubscribe/", views.manage_unsubscribe, name="manage_unsubscribe"),
    path("dev/outbox/", views.dev_outbox, name="dev_outbox"),
    path("dev/outbox/<int:pk>/", views.dev_outbox_message, name="dev_outbox_message"),
]
