"""outbox.messages_compose: many people's mail, each exactly what message_compose writes
them, whether it went through a stencil or was rendered on its own."""

import copy

import pytest
from django.conf import settings as django_settings

from supporters import outbox

pytestmark = pytest.mark.django_db

NAMES = ["Вера Иванова", "Anna Smith", "O'Brien <b>&amp;", "Zoë", "  ", "Ёжик" * 24]


def composed_one_by_one(people, *, template, context):
    return [
        outbox.message_compose(supporter=s, kind="k", template=template, context={**context, **own})
        for s, own in people
    ]


def as_sent(messages):
    return [(m.supporter_id, m.to_email, m.subject, m.body_text, m.headers) for m in messages]


@pytest.fixture
def people(make_supporter):
    from supporters.models import Supporter

    made = []
    for n, name in enumerate(NAMES):
        person = make_supporter(name="Someone", language=("ru", "en")[n % 2])
        Supporter.objects.filter(pk=person.pk).update(display_name=name)  # as imported
        person.refresh_from_db()
        url = f"http://testserver/groups/invitation/{n}:sig-{n}/" + "x" * 300 * (n == 5)
        made.append((person, {"url": url}))
    return made


def test_invitations_are_the_mail_each_person_would_get_on_their_own(people, make_supporter):
    from supporters.groups.models import LocalGroup

    group = LocalGroup(name="Соседи & <друзья>", description="Мы {{ тут }}\nи там")
    context = {"group": group}

    batch = outbox.messages_compose(
        people=people, kind="k", template="groups/invitation", context=context
    )

    assert as_sent(batch) == as_sent(
        composed_one_by_one(people, template="groups/invitation", context=context)
    )
    assert "Вера" in batch[0].body_text and people[0][1]["url"] in batch[0].body_text


@pytest.fixture
def probe_templates(tmp_path, settings):
    """Templates that do more with the person's values than print them."""
    folder = tmp_path / "probe" / "email"
    folder.mkdir(parents=True)
    (folder / "filtered.txt").write_text(
        "For {{ recipient.first_name|upper }}\nOpen {{ url|truncatechars:30 }}\n"
    )
    (folder / "asks.txt").write_text("For {{ recipient.email }}\nHi {{ recipient.first_name }}\n")
    (folder / "tests.txt").write_text(
        "Hi{% if recipient.first_name %} {{ recipient.first_name }}{% endif %}\n{{ url }}\n"
    )
    (folder / "escaped.txt").write_text("Hi {{ recipient.first_name }}\n{{ url }}\n")
    templates = copy.deepcopy(django_settings.TEMPLATES)
    templates[0]["DIRS"] = [tmp_path, *templates[0]["DIRS"]]
    settings.TEMPLATES = templates


@pytest.mark.parametrize("template", ["filtered", "asks", "tests", "escaped"])
def test_a_template_that_does_more_than_print_the_values_is_rendered_for_each(
    people, probe_templates, template
):
    batch = outbox.messages_compose(
        people=people, kind="k", template=f"probe/{template}", context={}
    )

    assert as_sent(batch) == as_sent(
        composed_one_by_one(people, template=f"probe/{template}", context={})
    )
    if template == "escaped":  # autoescaped: the name is printed escaped, as on its own
        assert batch[2].subject == "Hi O&#x27;Brien"
