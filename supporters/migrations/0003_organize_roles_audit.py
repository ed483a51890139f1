"""Organizer roles as groups with permissions, and the audit log made append-only."""

from django.db import migrations

ROLES = {
    "organizer": [
        "supporters.view_aggregates",
        "supporters.export_aggregates",
        "supporters.add_segment",
        "supporters.view_segment",
    ],
    "coordinator": [
        "supporters.view_aggregates",
        "supporters.export_aggregates",
        "supporters.add_segment",
        "supporters.view_segment",
        "supporters.view_people",
        "supporters.export_people",
        "supporters.send_mailing",
        "supporters.view_mailing",
        "supporters.import_supporters",
        "supporters.view_import",
    ],
}
# Admins: everything the coordinator has, the audit log, and user management.
ROLES["admin"] = ROLES["coordinator"] + [
    "supporters.view_auditentry",
    "auth.view_user",
    "auth.add_user",
    "auth.change_user",
    "auth.delete_user",
    "auth.view_group",
    "otp_totp.view_totpdevice",
    "otp_totp.delete_totpdevice",
    "otp_static.view_staticdevice",
    "otp_static.delete_staticdevice",
    "axes.view_accessattempt",
    "axes.delete_accessattempt",
]


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)


def delete_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


APPEND_ONLY = """
CREATE FUNCTION supporters_auditentry_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER supporters_auditentry_append_only
    BEFORE UPDATE OR DELETE ON supporters_auditentry
    FOR EACH ROW EXECUTE FUNCTION supporters_auditentry_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER supporters_auditentry_append_only ON supporters_auditentry;
DROP FUNCTION supporters_auditentry_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("supporters", "0002_organize"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("otp_totp", "0003_add_timestamps"),
        ("otp_static", "0003_add_timestamps"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [
        migrations.RunPython(create_roles, delete_roles),
        migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY),
    ]
