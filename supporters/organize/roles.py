"""Roles of the organizer workspace and the permission each page needs.

organizer: aggregates and segments. coordinator: also person-level lists, exports,
messaging and imports. admin: everything, the audit log and user management. The groups
and their permissions are created by migration 0003; a superuser has every permission.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied

ORGANIZER, COORDINATOR, ADMIN = "organizer", "coordinator", "admin"
ROLES = (ORGANIZER, COORDINATOR, ADMIN)

VIEW_AGGREGATES = "supporters.view_aggregates"
VIEW_PEOPLE = "supporters.view_people"
EXPORT_AGGREGATES = "supporters.export_aggregates"
EXPORT_PEOPLE = "supporters.export_people"
ADD_SEGMENT = "supporters.add_segment"
SEND_MAILING = "supporters.send_mailing"
IMPORT_SUPPORTERS = "supporters.import_supporters"
VIEW_AUDIT = "supporters.view_auditentry"


def role_of(user) -> str:
    """The strongest role the user holds, for display ('' if none)."""
    if user.is_superuser:
        return ADMIN
    names = set(user.groups.values_list("name", flat=True))
    return next((r for r in reversed(ROLES) if r in names), "")


def permission_required(*perms: str):
    """403 unless the (already two-factor verified) user holds every permission."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated or not request.user.has_perms(perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def roles_ensure() -> None:
    """Create the role groups if they are missing (migration 0003 makes them; a flushed
    test database has lost them). Permissions come from the models' Meta and contrib apps."""
    import importlib

    from django.contrib.auth.models import Group, Permission

    migration = importlib.import_module("supporters.migrations.0003_organize_roles_audit")
    for role, perms in migration.ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        if group.permissions.exists():
            continue
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
