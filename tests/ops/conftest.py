"""The security tests' fixtures (a populated site, a two-factor-verified organizer)."""

from tests.security.conftest import organizer_client, populated  # noqa: F401
