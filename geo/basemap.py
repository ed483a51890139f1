"""The base map every map of the app draws (static/js/base-layer.js): which one, checking
and installing a PMTiles archive, and serving it with HTTP range requests.

SOSEDI_BASEMAP chooses it: `pmtiles:PATH` (vector tiles from one file that Sosedi serves
itself), `tiles:URL` (a raster tile server), `none` (Natural Earth country outlines only).
Unset, it is the installed archive if there is one (basemap.pmtiles in SOSEDI_BASEMAP_DIR,
else the demo that `make setup` builds there, demo.pmtiles) and `none` otherwise, so that out
of the box no map asks any other host for anything. The older SOSEDI_TILE_URL (settings.
TILE_URL) still works when SOSEDI_BASEMAP is unset: a URL is `tiles:URL`, empty is `none`.
"""

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils.html import escape, strip_tags
from django.utils.http import http_date, quote_etag

logger = logging.getLogger(__name__)

Kind = Literal["pmtiles", "tiles", "none"]
HEADER_BYTES = 127
# Browsers and proxies may keep the file's bytes this long; the page asks for it under a
# URL that names its version (?v=), so a new file is fetched at once all the same.
CACHE_SECONDS = 86400
CHUNK = 64 * 1024


class BasemapError(ValueError):
    """A file that is not a vector PMTiles archive Sosedi can draw; the message says why."""


@dataclass(frozen=True, slots=True)
class Basemap:
    kind: Kind
    path: Path | None = None
    url: str = ""


@dataclass(frozen=True, slots=True)
class ArchiveInfo:
    """What the header and metadata of a PMTiles archive say."""

    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float]  # west, south, east, north
    tile_type: str
    attribution: str
    size: int


def installed_dir() -> Path:
    return Path(settings.SOSEDI_BASEMAP_DIR)


def installed_path() -> Path:
    """Where `manage.py basemap_install` puts an archive."""
    return installed_dir() / "basemap.pmtiles"


def demo_path() -> Path:
    """Where `manage.py basemap_build` (run by `make setup`) puts the demo archive."""
    return installed_dir() / "demo.pmtiles"


def basemap_parse(value: str) -> Basemap:
    """`pmtiles:PATH`, `tiles:URL` or `none`; a relative PATH is under the checkout."""
    value = value.strip()
    if value == "none":
        return Basemap("none")
    scheme, _, rest = value.partition(":")
    if scheme == "pmtiles" and rest:
        path = Path(rest).expanduser()
        return Basemap("pmtiles", path=path if path.is_absolute() else settings.BASE_DIR / path)
    if scheme == "tiles" and re.match(r"https?://[^/]+", rest):
        return Basemap("tiles", url=rest)
    raise ValueError("SOSEDI_BASEMAP must be pmtiles:PATH, tiles:URL (http or https) or none.")


def basemap_configured() -> Basemap:
    """The base map the settings choose (the file may still be missing)."""
    if value := getattr(settings, "SOSEDI_BASEMAP", ""):
        return basemap_parse(value)
    legacy = getattr(settings, "TILE_URL", None)
    if legacy is not None:
        return Basemap("tiles", url=legacy) if legacy else Basemap("none")
    for path in (installed_path(), demo_path()):
        if path.is_file():
            return Basemap("pmtiles", path=path)
    return Basemap("none")


def basemap_current() -> Basemap:
    """The base map to draw now: a configured archive that is missing or unreadable gives
    way to the outlines (`none`), with a warning in the log."""
    basemap = basemap_configured()
    if basemap.kind == "pmtiles" and archive_cached(basemap.path) is None:
        return Basemap("none")
    return basemap


def archive_info(path: Path) -> ArchiveInfo:
    """Read and check a PMTiles archive's header (version 3, vector tiles, zooms and bounds
    that make sense) and metadata; BasemapError says what is wrong."""
    from pmtiles.reader import MmapSource, Reader
    from pmtiles.tile import MagicNumberNotFound, TileType

    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(HEADER_BYTES)
            if len(head) < HEADER_BYTES or not head.startswith(b"PMTiles"):
                raise BasemapError(f"{path} is not a PMTiles archive.")
            if head[7] != 3:
                raise BasemapError(f"{path} is PMTiles version {head[7]}; version 3 is needed.")
            reader = Reader(MmapSource(fh))
            header = reader.header()
            metadata = reader.metadata()
    except BasemapError:
        raise
    except OSError as exc:
        raise BasemapError(f"{path} cannot be read: {exc.strerror or exc}.") from exc
    # A damaged header (an unknown type or compression), metadata cut short or not JSON.
    except (ValueError, IndexError, KeyError, EOFError, MagicNumberNotFound) as exc:
        raise BasemapError(f"{path} is not a readable PMTiles archive ({exc}).") from exc
    if header["tile_type"] != TileType.MVT:
        raise BasemapError(
            f"{path} holds {header['tile_type'].name} tiles; Sosedi draws vector (MVT) tiles."
        )
    if not 0 <= header["min_zoom"] <= header["max_zoom"] <= 22:
        raise BasemapError(
            f"{path} has zooms {header['min_zoom']}-{header['max_zoom']}; 0-22 are drawn."
        )
    bounds = tuple(
        header[k] / 1e7 for k in ("min_lon_e7", "min_lat_e7", "max_lon_e7", "max_lat_e7")
    )
    west, south, east, north = bounds
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise BasemapError(f"{path} has impossible bounds {bounds}.")
    end = header["tile_data_offset"] + header["tile_data_length"]
    if end > size:
        raise BasemapError(f"{path} is cut short: {size} bytes of {end}.")
    return ArchiveInfo(
        min_zoom=header["min_zoom"],
        max_zoom=header["max_zoom"],
        bounds=bounds,
        tile_type=header["tile_type"].name,
        attribution=str(metadata.get("attribution") or ""),
        size=size,
    )


_cache: dict[tuple, ArchiveInfo | None] = {}


def archive_cached(path: Path | None) -> ArchiveInfo | None:
    """archive_info() once per file version (path, size, mtime); None if missing or bad."""
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        if (str(path), None) not in _cache:  # once per process, not once per page
            logger.warning("base map %s is missing: the maps draw country outlines", path)
            _cache[(str(path), None)] = None
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _cache:
        try:
            _cache[key] = archive_info(path)
        except BasemapError as exc:
            logger.warning("%s The maps draw country outlines.", exc)
            _cache[key] = None
    return _cache[key]


def archive_etag(path: Path) -> str:
    """A strong validator of the file's version (its size and modification time)."""
    stat = path.stat()
    return f"{stat.st_size:x}-{stat.st_mtime_ns:x}"


def basemap_for_page() -> dict:
    """What base-layer.js needs: `url` (a raster tile template, or the archive's URL,
    ending in .pmtiles) and `attribution` (HTML); both empty for outlines only."""
    basemap = basemap_current()
    if basemap.kind == "tiles":
        return {"url": basemap.url, "attribution": settings.TILE_ATTRIBUTION}
    if basemap.kind == "pmtiles":
        info = archive_cached(basemap.path)
        try:
            version = archive_etag(basemap.path)
        except OSError:  # removed this very moment: outlines for this page
            info = None
        if info is not None:
            url = f"{reverse('public_map:basemap')}?v={version}"
            # The archive's own words, as text: it is a file, not configuration.
            return {"url": url, "attribution": escape(strip_tags(info.attribution))}
    return {"url": "", "attribution": ""}


# --- Serving the archive with range requests (RFC 9110, sections 13 and 14) -------------
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The one range of `bytes=a-b`, `bytes=a-` or `bytes=-n`, clipped to the file, as
    (first, last); None when it is malformed, several, or starts past the end."""
    match = _RANGE.match(header.replace(" ", ""))
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # the last n bytes
        n = int(last)
        return (max(0, size - n), size - 1) if n and size else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    return (start, end) if start <= end and start < size else None


def archive_response(request: HttpRequest, path: Path) -> HttpResponse:
    """The archive whole (200) or one byte range of it (206), with ETag, Last-Modified and
    caching headers; 304 to a matching If-None-Match; 416 for a range it cannot serve.
    An If-Range that no longer matches gets the whole new file, as the RFC asks."""
    stat = path.stat()
    size = stat.st_size
    etag = quote_etag(archive_etag(path))
    common = {
        "ETag": etag,
        "Last-Modified": http_date(stat.st_mtime),
        "Accept-Ranges": "bytes",
        "Cache-Control": f"public, max-age={CACHE_SECONDS}",
    }
    if_none_match = request.headers.get("If-None-Match", "")
    if if_none_match.strip() == "*" or etag in [t.strip() for t in if_none_match.split(",")]:
        return _with(HttpResponse(status=304), common)
    requested = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range")
    if (
        requested
        and if_range is not None
        and if_range.strip() not in (etag, common["Last-Modified"])
    ):
        requested = ""  # the client's copy is of another version: send this one whole
    if not requested.startswith("bytes="):
        if request.method == "HEAD":  # the headers only, whatever the server does with HEAD
            response = HttpResponse(content_type="application/octet-stream")
        else:
            response = FileResponse(path.open("rb"), content_type="application/octet-stream")
        response["Content-Length"] = str(size)
        return _with(response, common)
    byte_range = _byte_range(requested, size)
    if byte_range is None:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return _with(response, common)
    first, last = byte_range
    length = last - first + 1
    if request.method == "HEAD":
        response = HttpResponse(status=206, content_type="application/octet-stream")
    elif length <= CHUNK * 4:
        with path.open("rb") as fh:
            fh.seek(first)
            response = HttpResponse(fh.read(length), status=206)
        response["Content-Type"] = "application/octet-stream"
    else:
        response = StreamingHttpResponse(
            _read(path, first, length), status=206, content_type="application/octet-stream"
        )
    response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Content-Length"] = str(length)
    return _with(response, common)


def _read(path: Path, first: int, length: int):
    with path.open("rb") as fh:
        fh.seek(first)
        while length > 0:
            chunk = fh.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def _with(response: HttpResponse, headers: dict[str, str]) -> HttpResponse:
    for name, value in headers.items():
        response[name] = value
    return response


def basemap_install(*, source: Path, target: Path | None = None) -> tuple[Path, ArchiveInfo]:
    """Check `source` and copy it to the installed place (whole or not at all)."""
    import os
    import shutil

    info = archive_info(source)
    target = target or installed_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, tmp)
    tmp.replace(target)
    return target, info
