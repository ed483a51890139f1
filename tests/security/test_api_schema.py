"""The OpenAPI document at /api/schema/, generated from the API's code (mapsite/api.py),
describes the whole JSON API, and schemathesis (every check, positive and negative data)
finds no difference against a live server."""

import os
import subprocess
import sys
from pathlib import Path

from django.urls import reverse

from mapsite.api import api
from tests.security import site

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# Examples per operation in each phase (CI); `make fuzz` raises it.
MAX_EXAMPLES = int(os.environ.get("SOSEDI_FUZZ_EXAMPLES", "40"))
MAX_SECONDS = 600


def test_every_api_route_is_in_the_schema(db):
    documented = set(api.get_openapi_schema()["paths"])
    # ninja's own route for /api/ itself, which only answers 404.
    root = f"{api.urls_namespace}:api-root"
    for name, has_args in site.route_names().items():
        if has_args or name == root:
            continue
        path = reverse(name)
        if path.startswith("/api/"):
            assert path in documented, f"{path} ({name}) is no operation of mapsite/api.py"


def test_there_is_no_interactive_docs_page(client, db):
    # It would load Swagger UI from a CDN; the app makes no third-party requests.
    assert client.get("/api/docs").status_code == 404
    assert client.get("/api/").status_code == 404


def test_the_schema_is_served_as_openapi(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.oai.openapi+json"
    body = response.json()
    assert body["openapi"].startswith("3.") and "/api/public/cells" in body["paths"]
    assert client.post("/api/schema/").status_code == 405


def test_schemathesis_finds_nothing_against_a_live_server(live_server, populated, tmp_path):
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file",
            str(HERE / "schemathesis.toml"),
            "run",
            f"{live_server.url}/api/schema/",
            "--checks",
            "all",
            "--mode",
            "all",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "7",
            "--workers",
            "1",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=MAX_SECONDS + 120,
    )
    print(result.stdout[-6000:])
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-3000:]
    assert "No issues found" in result.stdout or "passed" in result.stdout
