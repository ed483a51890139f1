from django.urls import path

from supporters.organize import views

app_name = "organize"

urlpatterns = [
    path("organize/login/", views.LoginView.as_view(), name="login"),
    path("organize/verify/", views.verify, name="verify"),
    path("organize/enrol/", views.enrol, name="enrol"),
    path("organize/logout/", views.LogoutView.as_view(), name="logout"),
    path("organize/recovery/", views.recovery, name="recovery"),
    path("organize/", views.dashboard, name="dashboard"),
    path("organize/map/", views.heatmap_frame, name="heatmap"),
    path("organize/growth.svg", views.growth_svg, name="growth"),
    path("organize/segments/size/", views.segment_size, name="segment_size"),
    path("organize/segments/", views.segment_create, name="segment_create"),
    path("organize/segments/<int:pk>/", views.segment_detail, name="segment"),
    path("organize/segments/<int:pk>/people/", views.segment_people, name="segment_people"),
    path(
        "organize/segments/<int:pk>/export/<str:level>.<str:fmt>",
        views.segment_export,
        name="segment_export",
    ),
    path("organize/segments/<int:pk>/mail/", views.mailing_create, name="mailing_create"),
    path("organize/mailings/<int:pk>/", views.mailing_detail, name="mailing"),
    path("organize/mailings/<int:pk>/progress/", views.mailing_progress, name="mailing_progress"),
    path("organize/imports/", views.import_upload, name="imports"),
    path("organize/imports/<int:pk>/", views.import_detail, name="import"),
    path("organize/imports/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("organize/imports/<int:pk>/errors.csv", views.import_errors, name="import_errors"),
    path("organize/audit/", views.audit_log, name="audit"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
