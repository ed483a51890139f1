"""Roles, two-factor login, lockout and idle sessions of the organizer workspace."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from supporters.organize.models import Segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def segment(db):
    return Segment.objects.create(name="Everyone")


def test_the_data_migration_creates_three_roles_with_growing_permissions():
    perms = {
        g.name: {p.codename for p in g.permissions.all()}
        for g in Group.objects.filter(name__in=["organizer", "coordinator", "admin"])
    }
    assert perms["organizer"] < perms["coordinator"] < perms["admin"]
    assert "view_people" not in perms["organizer"]
    assert "export_people" in perms["coordinator"]
    assert "view_auditentry" not in perms["coordinator"]
    assert {"view_auditentry", "change_user"} <= perms["admin"]


def paths(segment, person):
    pk = segment.pk
    return {
        "dashboard": reverse("organize:dashboard"),
        "heatmap": reverse("organize:heatmap"),
        "segment": reverse("organize:segment", args=[pk]),
        "cells_export": reverse("organize:segment_export", args=[pk, "cells", "csv"]),
        "people": reverse("organize:segment_people", args=[pk]),
        "people_export": reverse("organize:segment_export", args=[pk, "people", "csv"]),
        "people_geojson": reverse("organize:segment_export", args=[pk, "people", "geojson"]),
        "mailing": reverse("organize:mailing_create", args=[pk]),
        "imports": reverse("organize:imports"),
        "person": reverse("organize:person", args=[person.pk]),
        "audit": reverse("organize:audit"),
    }


ALLOWED = {
    None: set(),
    "organizer": {"dashboard", "heatmap", "segment", "cells_export"},
    "coordinator": {
        "dashboard", "heatmap", "segment", "cells_export",
        "people", "people_export", "people_geojson", "mailing", "imports", "person",
    },
}  # fmt: skip
ALLOWED["admin"] = ALLOWED["coordinator"] | {"audit"}


@pytest.mark.parametrize("role", [None, "organizer", "coordinator", "admin"])
def test_each_role_is_refused_exactly_what_it_may_not_do(role, as_role, segment, make_supporter):
    client = as_role(role)
    for name, path in paths(segment, make_supporter()).items():
        if name == "mailing":
            response = client.post(path, {"subject": "x", "body": "y", "confirm_count": 0})
            ok = response.status_code in (302, 400)
        else:
            response = client.get(path)
            ok = response.status_code == 200
        if name in ALLOWED[role]:
            assert ok, (role, name, response.status_code)
        else:
            assert response.status_code == 403, (role, name, response.status_code)


def test_the_segment_page_offers_person_level_actions_only_to_coordinators(as_role, segment):
    organizer_page = as_role("organizer").get(reverse("organize:segment", args=[segment.pk]))
    assert b"people.csv" not in organizer_page.content
    assert b"cells.csv" in organizer_page.content
    assert b"Email this segment" not in organizer_page.content
    coordinator_page = as_role("coordinator").get(reverse("organize:segment", args=[segment.pk]))
    assert b"people.csv" in coordinator_page.content
    assert b"Email this segment" in coordinator_page.content


def test_the_segment_page_shown_again_by_a_mailing_is_the_same_page(as_role, make_supporter):
    make_supporter(region="Moscow", consents=["email_updates"])
    segment = Segment.objects.create(name="Everyone")
    client = as_role("coordinator")
    page = client.get(reverse("organize:segment", args=[segment.pk]))
    recount = client.post(
        reverse("organize:mailing_create", args=[segment.pk]),
        {"subject": "Hi", "body": "Text", "count": "1", "confirm_count": 0},
    )
    assert recount.status_code == 200
    for key in ["size", "reachable", "regions"]:
        assert recount.context[key] == page.context[key], key
    for key in ["can_people", "can_export_people", "can_export", "can_mail"]:
        assert recount.context[key] is page.context[key] is True, key
    assert recount.context["regions"] == [{"country_code": "RU", "region": "Moscow", "count": 1}]
    assert b"people.csv" in recount.content and b"cells.csv" in recount.content


def test_the_segment_page_names_its_regions_in_the_pages_language(as_role, make_supporter):
    make_supporter(lon=49.12, lat=55.79, region="Tatarstan Republic", consents=["email_updates"])
    segment = Segment.objects.create(name="Everyone")
    client = as_role("coordinator")
    client.cookies["django_language"] = "ru"
    page = client.get(reverse("organize:segment", args=[segment.pk])).content.decode()
    assert "Татарстан" in page and "Tatarstan Republic" not in page


@pytest.mark.parametrize("path", ["/organize/", "/organize/map/", "/admin/", "/admin/login/"])
def test_anonymous_visitors_are_sent_to_the_organizer_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("organize:login"))


def test_a_password_alone_opens_nothing_until_the_second_factor(client, make_staff):
    user, device = make_staff("admin", username="ada")
    response = client.post(
        reverse("organize:login"), {"username": "ada", "password": "pw-Org-2026!"}
    )
    assert response.status_code == 302 and response["Location"].startswith("/organize/verify/")
    for path in ["/organize/", "/admin/", "/organize/audit/"]:
        refused = client.get(path)
        assert refused.status_code == 302
        assert refused["Location"].startswith("/organize/verify/"), path

    wrong = client.post(reverse("organize:verify"), {"token": "000000"})
    assert wrong.status_code == 400
    assert client.get("/organize/").status_code == 302
    # A wrong code makes the device wait before the next try (django-otp's throttling);
    # pretend those seconds have passed.
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    device.throttle_reset()

    code = f"{totp(device.bin_key, step=30, t0=0, digits=6, drift=0):06d}"
    right = client.post(reverse("organize:verify") + "?next=/organize/audit/", {"token": code})
    assert right.status_code == 302 and right["Location"] == "/organize/audit/"
    assert client.get("/organize/audit/").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_an_account_without_a_device_must_enrol_with_a_server_drawn_qr_code(
    client, django_user_model
):
    django_user_model.objects.create_user(username="new", password="pw-Org-2026!")
    client.post(reverse("organize:login"), {"username": "new", "password": "pw-Org-2026!"})
    response = client.get("/organize/")
    assert response["Location"].startswith(reverse("organize:enrol"))
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"<svg" in page.content and b"otpauth" not in page.content.split(b"<svg")[0]
    device = (
        page.context["form"] and django_user_model.objects.get(username="new").totpdevice_set.get()
    )
    assert not device.confirmed
    code = f"{totp(device.bin_key, step=30, t0=0, digits=6, drift=0):06d}"
    done = client.post(reverse("organize:enrol"), {"token": code})
    assert done.status_code == 302 and done["Location"].startswith(reverse("organize:recovery"))
    codes = client.get(done["Location"]).context["codes"]
    assert len(codes) == 10
    # Shown once only.
    assert client.get(reverse("organize:recovery")).context["codes"] is None


def test_a_recovery_code_works_once(client, make_staff):
    user, _device = make_staff("organizer", username="rec")
    static = StaticDevice.objects.create(user=user, name="recovery")
    StaticToken.objects.create(device=static, token="abcd1234")
    client.post(reverse("organize:login"), {"username": "rec", "password": "pw-Org-2026!"})
    assert client.post(reverse("organize:verify"), {"token": "abcd1234"}).status_code == 302
    assert client.get("/organize/").status_code == 200

    client.logout()
    client.post(reverse("organize:login"), {"username": "rec", "password": "pw-Org-2026!"})
    assert client.post(reverse("organize:verify"), {"token": "abcd1234"}).status_code == 400


def test_the_second_step_asks_for_either_code_and_takes_a_recovery_code_as_typed(
    client, make_staff
):
    user, _device = make_staff("organizer", username="either")
    static = StaticDevice.objects.create(user=user, name="recovery")
    StaticToken.objects.create(device=static, token="abcd2345")
    client.post(reverse("organize:login"), {"username": "either", "password": "pw-Org-2026!"})
    page = client.get(reverse("organize:verify"))
    label = page.context["form"]["token"].label_tag()
    assert "6-digit code or recovery code" in label
    assert "recovery codes" in page.content.decode()
    # Recovery codes have letters: no numeric keypad on phones.
    assert 'inputmode="numeric"' not in page.content.decode()
    # As a phone keyboard might type it: capitalised, with a space.
    assert client.post(reverse("organize:verify"), {"token": "Abcd 2345"}).status_code == 302
    assert client.get("/organize/").status_code == 200


def test_repeated_wrong_passwords_lock_the_account_even_with_the_right_one(
    client, make_staff, settings
):
    make_staff("organizer", username="target")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(
            reverse("organize:login"), {"username": "target", "password": "wrong"}
        )
    assert response.status_code == 429
    locked = client.post(
        reverse("organize:login"), {"username": "target", "password": "pw-Org-2026!"}
    )
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    assert "_auth_user_id" not in client.session


def test_idle_sessions_expire_and_activity_renews_them(as_role, settings):
    assert settings.SESSION_SAVE_EVERY_REQUEST
    assert settings.SESSION_COOKIE_AGE <= 60 * 60
    client = as_role("organizer")
    response = client.get("/organize/")
    assert response.cookies["sessionid"]["max-age"] == settings.SESSION_COOKIE_AGE

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    Session.objects.update(expire_date=timezone.now())  # as if idle past the limit
    assert client.get("/organize/").status_code == 302


def test_the_logout_button_ends_the_session(as_role):
    client = as_role("organizer")
    client.post(reverse("organize:logout"))
    assert client.get("/organize/").status_code == 302


def test_the_demo_organizer_logs_in_with_the_printed_recovery_code(client, settings):
    from django.core.management import call_command

    from supporters.organize.demo import demo_organizer_ensure

    first = demo_organizer_ensure()
    login = demo_organizer_ensure()  # `make run` again: same TOTP key, a new code
    assert login.totp_secret == first.totp_secret and login.recovery_code != first.recovery_code
    credentials = {"username": login.username, "password": login.password}
    client.post(reverse("organize:login"), credentials)
    assert (
        client.post(reverse("organize:verify"), {"token": login.recovery_code}).status_code == 302
    )
    assert client.get("/organize/audit/").status_code == 200  # the admin role
    client.logout()
    client.post(reverse("organize:login"), credentials)
    # The code printed by the previous run no longer works, nor does a used one.
    for spent in (first.recovery_code, login.recovery_code):
        assert client.post(reverse("organize:verify"), {"token": spent}).status_code == 400
        for device in [*TOTPDevice.objects.all(), *StaticDevice.objects.all()]:
            device.throttle_reset()

    from io import StringIO

    out = StringIO()
    call_command("demo_organizer", "--shell", stdout=out)
    user, password, code, secret = out.getvalue().split()
    assert (user, password) == settings.SOSEDI_DEMO_ORGANIZER and secret == login.totp_secret
