"""The base map: which one is drawn, the archive served with range requests, installing a
file (geo/basemap.py), and the demo archive built at setup (geo/basemap_build.py)."""

import gzip
import os
import subprocess
import sys
from pathlib import Path

import mapbox_vector_tile
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from geo import basemap
from geo.basemap_build import basemap_build, inputs_key

URL = reverse("public_map:basemap")


def write_archive(path: Path, *, tile_type: TileType = TileType.MVT, max_zoom: int = 2) -> Path:
    """A small PMTiles archive: one vector tile per zoom, over the whole world."""
    tile = mapbox_vector_tile.encode(
        [
            {
                "name": "earth",
                "features": [{"geometry": "POLYGON((0 0,0 4096,4096 4096,4096 0,0 0))"}],
            }
        ]
    )
    with path.open("wb") as fh:
        writer = Writer(fh)
        for z in range(max_zoom + 1):
            writer.write_tile(zxy_to_tileid(z, 0, 0), gzip.compress(tile + bytes([z]), mtime=0))
        writer.finalize(
            {
                "tile_type": tile_type,
                "tile_compression": Compression.GZIP,
                "min_lon_e7": -180 * 10**7,
                "min_lat_e7": -85 * 10**7,
                "max_lon_e7": 180 * 10**7,
                "max_lat_e7": 85 * 10**7,
                "center_zoom": 1,
                "center_lon_e7": 0,
                "center_lat_e7": 0,
            },
            {"attribution": '<a href="https://example.org/">© Example</a>'},
        )
    return path


@pytest.fixture
def basemap_dir(settings, tmp_path):
    """No base map chosen by the settings, and an empty place to install one."""
    settings.SOSEDI_BASEMAP = ""
    settings.TILE_URL = None
    settings.SOSEDI_BASEMAP_DIR = tmp_path / "basemap"
    return settings.SOSEDI_BASEMAP_DIR


@pytest.fixture
def archive(basemap_dir, settings, tmp_path) -> Path:
    path = write_archive(tmp_path / "extract.pmtiles")
    settings.SOSEDI_BASEMAP = f"pmtiles:{path}"
    return path


# --- Which base map ---
def test_with_nothing_installed_the_maps_draw_outlines_and_ask_no_tile_server(basemap_dir):
    assert basemap.basemap_current() == basemap.Basemap("none")
    assert basemap.basemap_for_page() == {"url": "", "attribution": ""}


def test_an_installed_archive_is_the_default_before_the_demo(basemap_dir):
    basemap_dir.mkdir()
    demo = write_archive(basemap_dir / "demo.pmtiles")
    assert basemap.basemap_current() == basemap.Basemap("pmtiles", path=demo)
    installed = write_archive(basemap_dir / "basemap.pmtiles")
    assert basemap.basemap_current() == basemap.Basemap("pmtiles", path=installed)
    page = basemap.basemap_for_page()
    assert page["url"].startswith(URL + "?v=") and page["url"].split("?")[0].endswith(".pmtiles")
    assert page["attribution"] == "© Example"  # the archive's words as text, never its HTML


def test_the_setting_chooses_and_the_old_tile_url_still_works(basemap_dir, settings):
    settings.SOSEDI_BASEMAP = "tiles:https://tiles.example.org/{z}/{x}/{y}.png"
    assert basemap.basemap_current().url == "https://tiles.example.org/{z}/{x}/{y}.png"
    settings.SOSEDI_BASEMAP = "none"
    assert basemap.basemap_current().kind == "none"
    settings.SOSEDI_BASEMAP = ""
    settings.TILE_URL = "https://old.example.org/{z}/{x}/{y}.png"
    assert basemap.basemap_current() == basemap.Basemap("tiles", url=settings.TILE_URL)
    settings.TILE_URL = ""  # empty meant "no base layer", and still does
    assert basemap.basemap_current().kind == "none"
    with pytest.raises(ValueError):
        basemap.basemap_parse("ftp://tiles.example.org/")


def test_a_configured_archive_that_is_missing_gives_way_to_the_outlines(basemap_dir, settings):
    settings.SOSEDI_BASEMAP = f"pmtiles:{basemap_dir / 'gone.pmtiles'}"
    assert basemap.basemap_configured().kind == "pmtiles"
    assert basemap.basemap_current().kind == "none"


def test_the_pages_hand_the_archive_to_every_map(client, archive, db):
    page = client.get(reverse("supporters:join")).content.decode()
    assert f'data-tile-url="{URL}?v=' in page
    assert "vendor/protomaps-leaflet/protomaps-leaflet.js" in page


def _settings_img_src(env: dict) -> subprocess.CompletedProcess:
    """The Content-Security-Policy's img-src of a fresh process started with `env`."""
    load = (
        "import django; django.setup(); from django.conf import settings; "
        "print(' '.join(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SOSEDI_BASEMAP")}
    clean.pop("SOSEDI_TILE_URL", None)
    return subprocess.run(
        [sys.executable, "-c", load],
        env={**clean, "DJANGO_SETTINGS_MODULE": "mapsite.settings", **env},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "img_src"),
    [
        ({}, "'self' data:"),
        ({"SOSEDI_BASEMAP": "pmtiles:var/basemap/region.pmtiles"}, "'self' data:"),
        (
            {"SOSEDI_BASEMAP": "none", "SOSEDI_TILE_URL": "https://old.example/{z}/{x}/{y}.png"},
            "'self' data:",
        ),
        (
            {"SOSEDI_BASEMAP": "tiles:https://{s}.tiles.example.org/{z}/{x}/{y}.png"},
            "'self' data: https://*.tiles.example.org",
        ),
        (
            {"SOSEDI_TILE_URL": "https://old.example/{z}/{x}/{y}.png"},
            "'self' data: https://old.example",
        ),
    ],
)
def test_the_content_security_policy_names_a_tile_host_only_when_one_is_configured(env, img_src):
    result = _settings_img_src(env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == img_src


@pytest.mark.parametrize("bad", ["osm", "pmtiles:", "tiles:ftp://tiles.example.org/"])
def test_a_base_map_setting_that_means_nothing_stops_the_app(bad):
    result = _settings_img_src({"SOSEDI_BASEMAP": bad})
    assert result.returncode != 0 and "SOSEDI_BASEMAP must be" in result.stderr


# --- Serving it with range requests ---
def test_the_whole_archive_with_its_validators_and_caching(client, archive):
    response = client.get(URL)
    body = b"".join(response.streaming_content)
    assert response.status_code == 200 and body == archive.read_bytes()
    assert response["Content-Length"] == str(archive.stat().st_size)
    assert response["Accept-Ranges"] == "bytes"
    assert response["ETag"].startswith('"') and not response["ETag"].startswith("W/")
    assert "Last-Modified" in response
    assert response["Cache-Control"] == f"public, max-age={basemap.CACHE_SECONDS}"


def test_one_range_is_served_as_206_with_its_content_range(client, archive):
    data, size = archive.read_bytes(), archive.stat().st_size
    response = client.get(URL, headers={"Range": "bytes=0-126"})
    assert response.status_code == 206 and response.content == data[:127]
    assert response.content.startswith(b"PMTiles\x03")
    assert response["Content-Range"] == f"bytes 0-126/{size}"
    assert response["Content-Length"] == "127"
    middle = client.get(URL, headers={"Range": "bytes=100-199"})
    assert middle.content == data[100:200]
    # A range past the end is cut at the end; one with no end runs to it.
    assert client.get(URL, headers={"Range": f"bytes=50-{size + 99}"}).content == data[50:]
    tail = client.get(URL, headers={"Range": f"bytes={size - 10}-"})
    assert (
        tail.content == data[-10:]
        and tail["Content-Range"] == f"bytes {size - 10}-{size - 1}/{size}"
    )


def test_a_suffix_range_is_the_last_bytes(client, archive):
    data, size = archive.read_bytes(), archive.stat().st_size
    response = client.get(URL, headers={"Range": "bytes=-20"})
    assert response.status_code == 206 and response.content == data[-20:]
    assert response["Content-Range"] == f"bytes {size - 20}-{size - 1}/{size}"
    whole = client.get(URL, headers={"Range": f"bytes=-{size * 2}"})
    assert whole.status_code == 206 and whole.content == data


def test_a_large_range_is_streamed(client, archive, settings, tmp_path):
    big = tmp_path / "big.pmtiles"
    big.write_bytes(archive.read_bytes() + bytes(600_000))
    settings.SOSEDI_BASEMAP = f"pmtiles:{big}"
    response = client.get(URL, headers={"Range": "bytes=10-500009"})
    assert response.status_code == 206 and response["Content-Length"] == "500000"
    assert b"".join(response.streaming_content) == big.read_bytes()[10:500010]


@pytest.mark.parametrize(
    "bad",
    [
        "bytes={size}-",
        "bytes={size}-{more}",
        "bytes=-0",
        "bytes=20-10",
        "bytes=abc",
        "bytes=0-1,5-9",
    ],
)
def test_a_range_that_cannot_be_served_is_416_with_the_size(client, archive, bad):
    size = archive.stat().st_size
    response = client.get(URL, headers={"Range": bad.format(size=size, more=size + 5)})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{size}"
    assert response.content == b""


def test_conditional_requests(client, archive):
    etag = client.get(URL, headers={"Range": "bytes=0-9"})["ETag"]
    assert client.get(URL, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(URL, headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
    assert client.get(URL, headers={"If-None-Match": '"other"'}).status_code == 200
    # If-Range: the range only while the client's copy is still this version.
    same = client.get(URL, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert same.status_code == 206 and len(same.content) == 10
    stale = client.get(URL, headers={"Range": "bytes=0-9", "If-Range": '"an-old-version"'})
    assert stale.status_code == 200
    assert b"".join(stale.streaming_content) == archive.read_bytes()


def test_a_new_file_gets_a_new_etag_and_page_url(client, archive):
    before, url = client.get(URL)["ETag"], basemap.basemap_for_page()["url"]
    write_archive(archive, max_zoom=3)
    assert client.get(URL)["ETag"] != before
    assert basemap.basemap_for_page()["url"] != url


def test_head_and_other_methods(client, archive):
    head = client.head(URL, headers={"Range": "bytes=0-9"})
    assert head.status_code == 206 and head["Content-Length"] == "10" and head.content == b""
    whole = client.head(URL)
    assert whole.status_code == 200 and whole.content == b""
    assert whole["Content-Length"] == str(archive.stat().st_size) and "ETag" in whole
    assert client.post(URL).status_code == 405


def test_without_an_archive_there_is_nothing_to_serve(client, basemap_dir):
    assert client.get(URL).status_code == 404


# --- Installing a file ---
def test_install_refuses_a_file_that_is_not_pmtiles_and_installs_nothing(basemap_dir, tmp_path):
    for name, content in [
        ("notes.pmtiles", b"hello, this is not a map\n" * 10),
        ("empty.pmtiles", b""),
    ]:
        bad = tmp_path / name
        bad.write_bytes(content)
        with pytest.raises(CommandError, match="not a PMTiles archive. Nothing was installed"):
            call_command("basemap_install", str(bad))
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("basemap_install", str(tmp_path / "missing.pmtiles"))
    assert not (basemap_dir / "basemap.pmtiles").exists()


def test_install_refuses_raster_cut_short_and_wrong_version_archives(basemap_dir, tmp_path):
    with pytest.raises(CommandError, match="PNG tiles"):
        call_command(
            "basemap_install", str(write_archive(tmp_path / "r.pmtiles", tile_type=TileType.PNG))
        )
    whole = write_archive(tmp_path / "whole.pmtiles").read_bytes()
    (tmp_path / "cut.pmtiles").write_bytes(whole[:-5])
    with pytest.raises(CommandError, match="cut short"):
        call_command("basemap_install", str(tmp_path / "cut.pmtiles"))
    (tmp_path / "v2.pmtiles").write_bytes(whole[:7] + b"\x02" + whole[8:])
    with pytest.raises(CommandError, match="version 2"):
        call_command("basemap_install", str(tmp_path / "v2.pmtiles"))
    assert not (basemap_dir / "basemap.pmtiles").exists()


def test_install_checks_and_copies_an_archive_which_then_is_drawn(basemap_dir, tmp_path, capsys):
    source = write_archive(tmp_path / "region.pmtiles", max_zoom=3)
    call_command("basemap_install", str(source))
    out = capsys.readouterr().out
    assert "zooms 0-3" in out and "bounds -180.00,-85.00,180.00,85.00" in out
    target = basemap_dir / "basemap.pmtiles"
    assert target.read_bytes() == source.read_bytes()
    assert basemap.basemap_current() == basemap.Basemap("pmtiles", path=target)


# --- The demo archive ---
@pytest.fixture(scope="session")
def demo_archive() -> Path:
    """The demo archive `make setup` builds (built here if it is missing or out of date)."""
    from django.conf import settings

    path = Path(settings.SOSEDI_BASEMAP_DIR) / "demo.pmtiles"
    basemap_build(path=path)
    return path


def _tile(path: Path, z: int, lon: float, lat: float) -> dict:
    import math

    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    with path.open("rb") as fh:
        data = Reader(MmapSource(fh)).get(z, x, y)
    return mapbox_vector_tile.decode(gzip.decompress(data)) if data else {}


def test_the_demo_archive_holds_land_borders_and_named_towns_for_zooms_0_to_8(demo_archive):
    info = basemap.archive_info(demo_archive)
    assert (info.min_zoom, info.max_zoom, info.tile_type) == (0, 8, "MVT")
    assert "Natural Earth" in info.attribution
    with demo_archive.open("rb") as fh:
        assert Reader(MmapSource(fh)).metadata()["sosedi:inputs"] == inputs_key()
    moscow = _tile(demo_archive, 5, 37.62, 55.75)
    assert {"earth", "boundaries", "places"} <= set(moscow)
    towns = {f["properties"]["name"]: f["properties"] for f in moscow["places"]["features"]}
    assert towns["Moscow"]["name:ru"] == "Москва" and towns["Moscow"]["kind"] == "locality"
    assert _tile(demo_archive, 8, 37.62, 55.75)["earth"]["features"]  # down to zoom 8
    assert "earth" not in _tile(demo_archive, 5, -40.0, 35.0)  # the Atlantic has no land


def test_the_demo_build_is_skipped_when_its_inputs_are_unchanged(demo_archive):
    before = demo_archive.stat().st_mtime_ns
    report = basemap_build(path=demo_archive)
    assert not report.built and report.seconds < 1
    assert demo_archive.stat().st_mtime_ns == before
