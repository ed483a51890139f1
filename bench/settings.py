"""Sosedi's settings plus one extra URL, /bench/hello/, for the sign-up benchmark."""

from mapsite.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
