"""Sosedi's settings plus one extra URL, /bench/hello/, for the sign-up benchmark, and the
client's address read from X-Real-IP as behind production's nginx: wrk gives each sign-up
an address of its own, as real sign-ups come from many people (from one address, each
would count every earlier one of the hour, and the limit would have to be lifted)."""

from mapsite.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
CLIENT_IP_FROM_PROXY = True
