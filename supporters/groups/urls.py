from django.urls import include, path

from supporters.groups import moderation, views

group_patterns = [
    path("", views.group_list, name="list"),
    path("new/", views.group_new, name="new"),
    path("<uuid:pk>/", views.group_detail, name="detail"),
    path("<uuid:pk>/edit/", views.group_edit, name="edit"),
    path("<uuid:pk>/join/", views.group_join, name="join"),
    path("<uuid:pk>/leave/", views.group_leave_signed_in, name="leave_signed_in"),
    path("<uuid:pk>/lead/", views.group_lead, name="lead"),
    path("invitation/<str:token>/", views.group_invitation, name="invitation"),
    path("leave/<str:token>/", views.group_leave, name="leave"),
]

organize_patterns = [
    path("", moderation.group_queue, name="queue"),
    path("<uuid:pk>/", moderation.group_moderate, name="moderate"),
]

urlpatterns = [
    path("groups/", include((group_patterns, "groups"))),
    path("organize/groups/", include((organize_patterns, "organize_groups"))),
]
