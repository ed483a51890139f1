"""A group mail as a text, for the members whose channel is texts (reached_by_text)."""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from geo.timezones import timezone_at
from supporters.emails import absolute
from supporters.groups.models import GroupMail, GroupMembership
from supporters.sms.models import TextMessage
from supporters.sms.parts import text_parts
from supporters.sms.services import quiet_until, text_compose, text_render


def group_mail_text(mail: GroupMail, *, language: str) -> str:
    """A group mail as a text: group, subject and body, the body cut (at a word, marked
    "shortened") to fit SOSEDI_SMS_MAX_PARTS, and the group's page. The whole mail is not
    on any page: a member who wants every word chooses email as their channel."""

    def render(body: str, shortened: bool) -> str:
        context = {
            "group": mail.group,
            "subject": mail.subject,
            "body": body,
            "shortened": shortened,
            "url": absolute(reverse("groups:detail", args=[mail.group.pk])),
        }
        return text_render("groups/group_mail", language=language, context=context)

    body = " ".join(mail.body.split())
    whole = render(body, False)
    if text_parts(whole).parts <= settings.SOSEDI_SMS_MAX_PARTS:
        return whole
    kept, too_long = 0, len(body)  # the longest start of the body that fits, by halves
    while kept + 1 < too_long:
        middle = (kept + too_long) // 2
        if text_parts(render(body[:middle], True)).parts <= settings.SOSEDI_SMS_MAX_PARTS:
            kept = middle
        else:
            too_long = middle
    cut = body[:kept]
    if " " in cut[-20:] and kept < len(body) and body[kept] != " ":
        cut = cut[: cut.rindex(" ")]
    return render(cut.rstrip(" ,.;:-"), True)


def group_texts(mail: GroupMail, members: list[GroupMembership]) -> list[TextMessage]:
    """One text each, composed once per language; held for the quiet hours of the
    group's own zone (its members live in its area)."""
    held = quiet_until(timezone_at(mail.group.centre), now=timezone.now()) if members else None
    bodies: dict[str, str] = {}
    texts = []
    for m in members:
        language = m.supporter.language
        if language not in bodies:
            bodies[language] = group_mail_text(mail, language=language)
        texts.append(
            text_compose(
                supporter=m.supporter,
                kind=f"group_mail:{mail.pk}",
                body=bodies[language],
                not_before=held,
            )
        )
    return texts
