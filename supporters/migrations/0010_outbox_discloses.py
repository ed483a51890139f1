"""Mail that gives one person's address to another is keyed on that person (a foreign key
that cascades), instead of being found at erasure by searching mail bodies for the address,
which also took mail disclosing any address that contains it (ann@ inside joann@).

Mail sent before this keeps its disclosure found once here: an introduction mail names the
other side of one of its recipient's accepted introductions, and that person's address
stands in it as a whole address (not inside a longer one).
"""

import re

import django.db.models.deletion
from django.db import migrations, models


def _key_existing_disclosures(apps, schema_editor):
    OutboxMessage = apps.get_model("supporters", "OutboxMessage")
    Introduction = apps.get_model("supporters", "Introduction")
    for message in OutboxMessage.objects.filter(
        kind="nearby_introduced", supporter__isnull=False
    ).iterator():
        accepted = Introduction.objects.filter(status="accepted").select_related(
            "request__requester", "candidate"
        )
        mine = accepted.filter(candidate_id=message.supporter_id) | accepted.filter(
            request__requester_id=message.supporter_id
        )
        for intro in mine:
            requester, candidate = intro.request.requester, intro.candidate
            other = candidate if requester.pk == message.supporter_id else requester
            whole = rf"(?<![\w.+-]){re.escape(other.email)}(?![\w-]|\.\w)"
            if re.search(whole, message.body_text, flags=re.IGNORECASE):
                message.discloses_id = other.pk
                message.save(update_fields=["discloses"])
                break


class Migration(migrations.Migration):
    dependencies = [
        ("supporters", "0009_supporter_created_at_default"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxmessage",
            name="discloses",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="disclosed_in",
                to="supporters.supporter",
            ),
        ),
        migrations.RunPython(_key_existing_disclosures, migrations.RunPython.noop),
    ]
