"""What a text received does (filled in below)."""

from supporters.sms.gateways import Received


def text_received(*, gateway: str, received: Received):
    raise NotImplementedError
