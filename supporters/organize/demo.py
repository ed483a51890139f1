"""The demo organizer of `make run`: an admin with a second factor that works out of the box.

Development only. The TOTP key is derived from SECRET_KEY, so it stays the same across runs
(add it to an authenticator app once, for 6-digit codes). A call that asks for one also
issues a fresh single-use recovery code, and the previous one stops working: `make run`
prints it.
"""

import hashlib
import hmac
from base64 import b32encode
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from supporters.organize.roles import ADMIN, roles_ensure


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    recovery_code: str | None  # None unless one was asked for
    totp_secret: str  # base32, as authenticator apps take it


@transaction.atomic
def demo_organizer_ensure(*, recovery_code: bool = True) -> DemoLogin:
    if settings.PRODUCTION:
        raise RuntimeError("The demo organizer exists in development only.")
    username, password = settings.SOSEDI_DEMO_ORGANIZER
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"is_staff": True, "is_superuser": True}
    )
    if created:
        user.set_password(password)
        user.save()
    roles_ensure()  # the groups come from a migration; a flushed database has lost them
    user.groups.add(Group.objects.get(name=ADMIN))
    key = hmac.new(settings.SECRET_KEY.encode(), b"sosedi-demo-totp", hashlib.sha256).digest()[:20]
    TOTPDevice.objects.update_or_create(
        user=user, name="demo", defaults={"key": key.hex(), "confirmed": True}
    )
    code = None
    if recovery_code:
        static, _ = StaticDevice.objects.get_or_create(user=user, name="demo recovery")
        static.token_set.all().delete()
        code = StaticToken.random_token()
        StaticToken.objects.create(device=static, token=code)
    return DemoLogin(
        username=username,
        password=password,
        recovery_code=code,
        totp_secret=b32encode(key).decode(),
    )
