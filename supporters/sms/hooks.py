"""The URL each gateway calls: delivery reports and received texts (public, signed)."""

from datetime import timedelta

from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from supporters.ratelimit import RateLimited, client_ip, client_key, ratelimit_hit
from supporters.sms import inbound, services
from supporters.sms.gateways import GATEWAYS, BadRequest, gateway

HOOK_REQUESTS_PER_MINUTE = 600  # per client address, signed or not


@csrf_exempt  # the gateway posts with no cookie; its signature is the check
@require_POST
def hook(request, name: str):
    """Verify the gateway's signature, then apply its reports and handle its texts.

    Only the configured gateway is heard. A request without a valid signature gets 403,
    one the gateway would not make 400; a signed request is handled once however often
    the gateway retries it (a received text is one row per gateway id).
    """
    if name not in GATEWAYS or name != gateway().name or name == "outbox":
        raise Http404
    try:
        ratelimit_hit(
            scope="sms_hook",
            key=client_key(client_ip(request)),
            limit=HOOK_REQUESTS_PER_MINUTE,
            window=timedelta(minutes=1),
        )
    except RateLimited as exc:
        return HttpResponse(exc.message, status=429, content_type="text/plain")
    backend = gateway(name)
    if not backend.verify(request):
        return HttpResponseForbidden("bad signature")
    try:
        reports, received = backend.read(request)
    except BadRequest as exc:
        return HttpResponseBadRequest(str(exc))
    services.text_reports_apply(gateway=name, reports=reports)
    for text in received:
        inbound.text_received(gateway=name, received=text)
    return backend.acknowledge()
