"""Data migrations, run on the real schema between their neighbours."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from supporters.models import OutboxMessage
from supporters.services import supporter_erase

BEFORE = [("supporters", "0009_supporter_created_at_default")]
AFTER = [("supporters", "0010_outbox_discloses")]


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes("supporters")


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_0010_keys_introduction_mail_sent_before_on_the_person_it_names(make_supporter):
    ann = make_supporter(name="Ann", email="ann@example.org")
    joann = make_supporter(name="Joann", email="joann@example.org")
    boris = make_supporter(name="Boris", email="boris@example.org")
    apps = _migrate(BEFORE)
    try:
        Outbox = apps.get_model("supporters", "OutboxMessage")
        Request = apps.get_model("supporters", "IntroductionRequest")
        Introduction = apps.get_model("supporters", "Introduction")
        now = timezone.now()
        for requester, candidate in ((joann, boris), (ann, joann)):
            request = Request.objects.create(
                requester_id=requester.pk,
                message="hi",
                created_at=now,
                expires_at=now + timezone.timedelta(days=14),
            )
            Introduction.objects.create(
                request=request,
                candidate_id=candidate.pk,
                band="under_1",
                status="accepted",
                answered_at=now,
            )
        # Boris was given Joann's address, Joann Ann's and Boris's.
        for to, named in ((boris, joann), (joann, ann), (joann, boris)):
            Outbox.objects.create(
                supporter_id=to.pk,
                kind="nearby_introduced",
                to_email=to.email,
                subject=f"Meet {named.display_name}",
                body_text=f"Name: {named.display_name}\nEmail: {named.email}\n",
            )
    finally:
        _migrate(AFTER)
        _migrate(_latest())  # the schema the rest of the suite expects

    named = {
        (m.to_email, m.discloses.email)
        for m in OutboxMessage.objects.select_related("discloses").filter(kind="nearby_introduced")
    }
    assert named == {
        ("boris@example.org", "joann@example.org"),
        ("joann@example.org", "ann@example.org"),
        ("joann@example.org", "boris@example.org"),
    }
    supporter_erase(supporter=ann)
    left = OutboxMessage.objects.filter(kind="nearby_introduced")
    assert sorted(left.values_list("to_email", "subject")) == [
        ("boris@example.org", "Meet Joann"),
        ("joann@example.org", "Meet Boris"),
    ]
