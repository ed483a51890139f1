"""The organizers' second factor: an authenticator app (TOTP) and single-use recovery codes."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODES = 10


class CodeWrong(Exception):
    """The code typed is not the device's current one."""


def totp_device_confirmed(*, user: AbstractBaseUser) -> bool:
    """Whether the user has an authenticator app set up already."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def totp_device_pending(*, user: AbstractBaseUser) -> TOTPDevice:
    """The device being enrolled: made once, shown as a QR code until a code confirms it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def totp_device_confirm(*, device: TOTPDevice, token: str) -> list[str]:
    """Confirm `device` with a code from the app and make the user's recovery codes, in one
    transaction; CodeWrong if the code is not the device's."""
    # Checked outside the transaction: a wrong try counts (django-otp's throttling), and
    # raising inside would roll its count back.
    if not device.verify_token(token):
        raise CodeWrong
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        return recovery_codes_reset(user=device.user)


@transaction.atomic
def recovery_codes_reset(*, user: AbstractBaseUser) -> list[str]:
    """Replace the user's recovery codes with fresh ones; returns them (shown once)."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name="recovery")
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes
