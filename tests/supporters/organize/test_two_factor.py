"""The second factor's writes (supporters/organize/two_factor.py): confirming an
authenticator app, and making recovery codes, each all or nothing."""

import pytest
from django.db import DatabaseError
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice

from supporters.organize import two_factor

from .conftest import inserts_refused

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="new", password="pw-Org-2026!")


def code_of(device) -> str:
    return f"{totp(device.bin_key, step=30, t0=0, digits=6, drift=0):06d}"


def tokens_of(user) -> set[str]:
    return set(StaticDevice.objects.get(user=user).token_set.values_list("token", flat=True))


def test_the_right_code_confirms_the_device_and_makes_ten_single_use_recovery_codes(user):
    device = two_factor.totp_device_pending(user=user)
    assert two_factor.totp_device_pending(user=user) == device  # one device, shown until used
    assert not two_factor.totp_device_confirmed(user=user)

    codes = two_factor.totp_device_confirm(device=device, token=code_of(device))

    assert two_factor.totp_device_confirmed(user=user)
    assert len(set(codes)) == two_factor.RECOVERY_CODES == 10
    assert tokens_of(user) == set(codes)
    recovery = StaticDevice.objects.get(user=user)
    assert recovery.verify_token(codes[0]) and not recovery.verify_token(codes[0])


def test_a_wrong_code_confirms_nothing_and_counts_as_a_failed_try(user):
    device = two_factor.totp_device_pending(user=user)
    with pytest.raises(two_factor.CodeWrong):
        two_factor.totp_device_confirm(device=device, token="000000")
    device.refresh_from_db()
    assert not device.confirmed
    assert device.throttling_failure_count == 1  # django-otp slows the next try down
    assert not StaticDevice.objects.filter(user=user).exists()


def test_a_device_is_not_confirmed_without_its_recovery_codes(user):
    device = two_factor.totp_device_pending(user=user)
    with inserts_refused("otp_static_statictoken"), pytest.raises(DatabaseError):
        two_factor.totp_device_confirm(device=device, token=code_of(device))
    device.refresh_from_db()
    assert not device.confirmed and not two_factor.totp_device_confirmed(user=user)
    assert not StaticDevice.objects.filter(user=user).exists()


def test_new_recovery_codes_replace_the_old_ones(user):
    first = two_factor.recovery_codes_reset(user=user)
    second = two_factor.recovery_codes_reset(user=user)
    assert tokens_of(user) == set(second) and not set(first) & set(second)
    assert not StaticDevice.objects.get(user=user).verify_token(first[0])


def test_a_reset_that_fails_keeps_the_old_codes(user):
    first = two_factor.recovery_codes_reset(user=user)
    with inserts_refused("otp_static_statictoken"), pytest.raises(DatabaseError):
        two_factor.recovery_codes_reset(user=user)
    assert tokens_of(user) == set(first)
