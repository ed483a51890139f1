from django.urls import path

from supporters.organize.views import (
    audit_log,
    auth,
    dashboard,
    duplicates,
    imports,
    mailings,
    people,
    segments,
)

app_name = "organize"

urlpatterns = [
    path("organize/login/", auth.LoginView.as_view(), name="login"),
    path("organize/verify/", auth.verify, name="verify"),
    path("organize/enrol/", auth.enrol, name="enrol"),
    path("organize/logout/", auth.LogoutView.as_view(), name="logout"),
    path("organize/recovery/", auth.recovery, name="recovery"),
    path("organize/", dashboard.dashboard, name="dashboard"),
    path("organize/map/", dashboard.heatmap_frame, name="heatmap"),
    path("organize/growth.svg", dashboard.growth_svg, name="growth"),
    path("organize/segments/size/", segments.segment_size, name="segment_size"),
    path("organize/segments/", segments.segment_create, name="segment_create"),
    path("organize/segments/<int:pk>/", segments.segment_detail, name="segment"),
    path("organize/segments/<int:pk>/people/", segments.segment_people, name="segment_people"),
    path(
        "organize/segments/<int:pk>/export/<str:level>.<str:fmt>",
        segments.segment_export,
        name="segment_export",
    ),
    path("organize/segments/<int:pk>/mail/", mailings.mailing_create, name="mailing_create"),
    path("organize/mailings/<int:pk>/", mailings.mailing_detail, name="mailing"),
    path(
        "organize/mailings/<int:pk>/progress/", mailings.mailing_progress, name="mailing_progress"
    ),
    path("organize/imports/", imports.import_upload, name="imports"),
    path("organize/imports/<int:pk>/", imports.import_detail, name="import"),
    path("organize/imports/<int:pk>/map/", imports.import_map, name="import_map"),
    path("organize/imports/<int:pk>/import/", imports.import_confirm, name="import_confirm"),
    path("organize/imports/<int:pk>/remap/", imports.import_map_again, name="import_remap"),
    path("organize/imports/<int:pk>/delete/", imports.import_delete, name="import_delete"),
    path("organize/imports/<int:pk>/progress/", imports.import_progress, name="import_progress"),
    path("organize/imports/<int:pk>/errors.csv", imports.import_errors, name="import_errors"),
    path("organize/duplicates/", duplicates.duplicate_list, name="duplicates"),
    path("organize/duplicates/search/", duplicates.duplicate_search, name="duplicate_search"),
    path("organize/duplicates/dismiss/", duplicates.duplicate_dismiss, name="duplicate_dismiss"),
    path("organize/duplicates/merge/", duplicates.supporter_merge, name="supporter_merge"),
    path("organize/people/<uuid:pk>/", people.person_detail, name="person"),
    path("organize/audit/", audit_log.audit_log, name="audit"),
    path("unsubscribe/<str:token>/", mailings.unsubscribe, name="unsubscribe"),
]
