"""Pages of /groups/: the list and each group's page (public), proposing a group and a
leader's page (signed in through /nearby/), joining from an invitation and leaving from a
group's mail (signed links)."""

import json

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from geo.gazetteer import place_search
from ops.replica import reads_may_lag
from supporters import links
from supporters.groups import selectors, services
from supporters.groups.forms import GroupForm, GroupMailForm, JoinForm, MemberForm
from supporters.groups.models import GroupInvitation, GroupMembership, LocalGroup
from supporters.nearby.views import _language, activist_required, signed_in_activist
from supporters.ratelimit import RateLimited


def _problem(request, title: str, message: str, status: int):
    context = {"title": title, "message": message}
    return render(request, "supporters/problem.html", context, status=status)


def _refused(request, exc: services.GroupError):
    return _problem(request, _("That did not work"), exc.message, 400)


def _limited(request, exc: RateLimited):
    return _problem(request, _("Please wait"), exc.message, 429)


def _areas_geojson(groups) -> str:
    """The groups' areas for the map: their shape, name, link and public count only."""
    features = [
        {
            "type": "Feature",
            "geometry": json.loads(g.area.json),
            "properties": {
                "name": g.name,
                "url": reverse("groups:detail", args=[g.pk]),
                "members": selectors.members_shown(getattr(g, "members", 0)),
            },
        }
        for g in groups
    ]
    return json.dumps({"type": "FeatureCollection", "features": features})


@require_GET
@reads_may_lag
def group_list(request):
    """Approved groups, or those whose area holds the place searched for."""
    query = request.GET.get("q", "").strip()[:200]
    groups, place = selectors.groups_public(), None
    if query:
        found = place_search(query, limit=1)
        place = found[0] if found else None
        groups = selectors.groups_at(place.point) if place else groups.none()
    groups = list(groups.order_by("name"))
    rows = [(g, selectors.members_shown(g.members)) for g in groups]
    context = {
        "rows": rows,
        "query": query,
        "place": place,
        "areas": _areas_geojson(groups),
        "map_k": settings.SOSEDI_MAP_K,
    }
    return render(request, "groups/list.html", context)


def _visible(group: LocalGroup, membership: GroupMembership | None) -> bool:
    """Approved, suspended and archived groups are public; a proposal only to its leader."""
    if group.status in (LocalGroup.Status.APPROVED, LocalGroup.Status.SUSPENDED,
                        LocalGroup.Status.ARCHIVED):  # fmt: skip
        return True
    return membership is not None and membership.role == GroupMembership.Role.LEADER


@require_GET
def group_detail(request, pk):
    group = get_object_or_404(LocalGroup, pk=pk)
    activist = signed_in_activist(request)
    membership = selectors.membership_of(group=group, supporter=activist)
    if not _visible(group, membership):
        raise Http404
    count = selectors.groups_public().filter(pk=group.pk).values_list("members", flat=True)
    group.members = count[0] if count else 0  # the map's count too (_areas_geojson)
    context = {
        "group": group,
        "members": selectors.members_shown(group.members),
        "membership": membership,
        "activist": activist,
        "form": JoinForm(
            initial={"shares_contact": bool(membership and membership.shares_contact)}
        ),
        "area": _areas_geojson([group]),
        "map_k": settings.SOSEDI_MAP_K,
        "events": group.events.filter(status="approved", ends_at__gt=timezone.now()),
    }
    return render(request, "groups/detail.html", context)


@require_http_methods(["GET", "POST"])
@activist_required
def group_new(request, activist):
    form = GroupForm(request.POST or None, language=_language())
    if request.method == "POST" and form.is_valid():
        try:
            group = services.group_propose(founder=activist, draft=form.draft)
        except services.GroupError as exc:
            return _refused(request, exc)
        except RateLimited as exc:
            return _limited(request, exc)
        if group.is_open:
            messages.success(request, _("Your group is open: neighbours are being invited."))
        else:
            messages.success(
                request, _("Thank you: the organizers will look at your group and write to you.")
            )
        return redirect("groups:detail", pk=group.pk)
    status = 400 if form.is_bound else 200
    context = {"form": form, "town_radius": f"{settings.SOSEDI_GROUP_TOWN_RADIUS_KM:g}"}
    return render(request, "groups/form.html", context, status=status)


def _as_posted(group: LocalGroup) -> dict:
    """A group's fields as its form posts them, to change it."""
    data = {"name": group.name, "description": group.description, "language": group.language,
            "area_kind": group.area_kind, "location_text": group.area_name,
            "radius_km": group.radius_km}  # fmt: skip
    if group.area_kind == LocalGroup.AreaKind.CIRCLE:
        data.update(pin_lat=round(group.centre.y, 6), pin_lon=round(group.centre.x, 6))
    elif group.area_kind == LocalGroup.AreaKind.POLYGON:
        data["polygon"] = group.area.json
    return data


@require_http_methods(["GET", "POST"])
@activist_required
def group_edit(request, activist, pk):
    """The founder changes a group the organizers sent back; it then waits again."""
    group = get_object_or_404(LocalGroup, pk=pk, founder=activist, status=LocalGroup.Status.CHANGES)
    form = GroupForm(request.POST or None, language=_language(), initial=_as_posted(group))
    if request.method == "POST" and form.is_valid():
        try:
            services.group_change(group=group, founder=activist, draft=form.draft)
        except services.GroupError as exc:
            return _refused(request, exc)
        messages.success(request, _("Thank you: the organizers will look at your group again."))
        return redirect("groups:detail", pk=group.pk)
    context = {
        "form": form,
        "group": group,
        "town_radius": f"{settings.SOSEDI_GROUP_TOWN_RADIUS_KM:g}",
    }
    return render(request, "groups/form.html", context, status=400 if form.is_bound else 200)


def _join(request, group: LocalGroup, supporter, *, invitation=None):
    """Join (from an `invitation`, or signed in), then to the group's page."""
    form = JoinForm(request.POST)
    form.is_valid()  # a checkbox: always valid
    try:
        membership = services.group_join(
            group=group,
            supporter=supporter,
            shares_contact=form.cleaned_data["shares_contact"],
            invitation=invitation,
        )
    except services.GroupError as exc:
        return _refused(request, exc)
    except RateLimited as exc:
        return _limited(request, exc)
    if membership.shares_contact:
        messages.success(request, _("You are a member. The leaders see your name and email."))
    else:
        messages.success(request, _("You are a member. The leaders do not see your name or email."))
    return redirect("groups:detail", pk=group.pk)


@require_POST
@activist_required
def group_join(request, activist, pk):
    return _join(request, get_object_or_404(LocalGroup, pk=pk), activist)


@links.link_view()
@require_http_methods(["GET", "POST"])
def group_invitation(request, token: str):
    """From an invitation mail: the group, and a Join button for the person invited."""
    invitation = (
        GroupInvitation.objects.select_related("group", "supporter")
        .filter(pk=links.GROUP_INVITATION.read(token))
        .first()
    )
    if invitation is None:  # used, or the person left or was erased
        message = _("This invitation has been used already.")
        return _problem(request, _("That did not work"), message, 410)
    if request.method == "POST":
        # Answered here, not redirected: the link is used up, and the person is not signed
        # in, so the group's page would ask them to sign in to join.
        response = _join(request, invitation.group, invitation.supporter, invitation=invitation)
        if response.status_code != 302:
            return response
        membership = selectors.membership_of(group=invitation.group, supporter=invitation.supporter)
        context = {"group": invitation.group, "membership": membership}
        return render(request, "groups/invitation.html", context)
    membership = selectors.membership_of(group=invitation.group, supporter=invitation.supporter)
    context = {
        "group": invitation.group,
        "form": JoinForm(),
        "token": token,
        "membership": membership,
    }
    return render(request, "groups/invitation.html", context)


@csrf_exempt  # RFC 8058: mail clients POST here with no cookie and no CSRF token
@require_http_methods(["GET", "POST"])
def group_leave(request, token: str):
    """GET shows a button (link scanners open links); POST leaves the group."""
    try:
        membership_id = links.GROUP_LEAVE.read(token)
    except links.LinkError as exc:
        raise Http404 from exc
    membership = GroupMembership.objects.select_related("group").filter(pk=membership_id).first()
    if request.method == "POST":
        if membership is not None:
            services.group_leave(membership=membership)
        return render(request, "groups/left.html", {"done": True})
    group = membership.group if membership else None
    return render(
        request, "groups/left.html", {"done": membership is None, "token": token, "group": group}
    )


@require_POST
@activist_required
def group_leave_signed_in(request, activist, pk):
    group = get_object_or_404(LocalGroup, pk=pk)
    membership = selectors.membership_of(group=group, supporter=activist)
    if membership is not None:
        services.group_leave(membership=membership)
        messages.success(request, _("You have left %(group)s.") % {"group": group.name})
    return redirect("groups:detail", pk=group.pk)


@require_http_methods(["GET", "POST"])
@activist_required
def group_lead(request, activist, pk):
    """The leaders' page: who shares their contact, how many do not, mail to the group,
    co-leaders, hand-over and archiving."""
    group = get_object_or_404(LocalGroup, pk=pk)
    membership = selectors.membership_of(group=group, supporter=activist)
    if membership is None or not membership.leads:
        raise Http404
    mail_form = GroupMailForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "mail":
                mail_form = GroupMailForm(request.POST)
                if mail_form.is_valid():
                    mail = services.group_mail_send(
                        group=group, sender=activist, **mail_form.cleaned_data
                    )
                    messages.success(
                        request,
                        _("Your message is on its way to %(n)s members.") % {"n": mail.recipients},
                    )
                    return redirect("groups:lead", pk=group.pk)
            elif action == "archive":
                services.group_archive(group=group, leader=activist)
                messages.success(request, _("The group is archived."))
                return redirect("groups:detail", pk=group.pk)
            else:
                form = MemberForm(request.POST)
                if not form.is_valid():
                    return _problem(
                        request, _("That did not work"), _("Choose a member on the page."), 400
                    )
                other = get_object_or_404(
                    GroupMembership, pk=form.cleaned_data["membership"], group=group
                )
                if form.cleaned_data["action"] == "hand_over":
                    services.group_hand_over(group=group, leader=activist, membership=other)
                else:
                    services.group_co_leader_set(
                        group=group, leader=activist, membership=other,
                        co_leader=form.cleaned_data["action"] == "co_leader",
                    )  # fmt: skip
                messages.success(request, _("Done."))
                return redirect("groups:lead", pk=group.pk)
        except services.GroupError as exc:
            return _refused(request, exc)
        except RateLimited as exc:
            return _limited(request, exc)
    context = {
        "group": group,
        "membership": membership,
        "roster": selectors.group_roster(group=group, page=request.GET.get("page")),
        "mail_form": mail_form,
        "mails": group.mails.all()[:10],
        "member_actions": MemberForm.ACTIONS,
    }
    return render(request, "groups/lead.html", context, status=400 if mail_form.errors else 200)
