/* The base layer of every map of the app (geo/basemap.py chooses it): the app's own vector
   base map, one PMTiles archive read with range requests and drawn by protomaps-leaflet;
   or a raster tile server's tiles; or, when there is neither or it fails, Natural Earth
   country outlines (world-atlas TopoJSON, through topojson-client). Everything but a
   configured tile server is served by the app. Used by /map/, the pin pickers, the event
   and group pages and, inside its folium document, the organizers' heatmap.

   sosediBaseLayer(map, {tileUrl, attribution, maxZoom, outlinesUrl, onOutlines, lang, strings})
   tileUrl is a raster URL template, or the archive's URL (its path ends in .pmtiles).
   Labels are in `lang`, else the page's language, where the tiles carry that name.
   The map's container gets the class "has-basemap" once the vector base map has drawn
   its first tiles, "has-outlines" once the outlines are drawn. */
(function () {
  "use strict";

  // world-atlas keeps rings that cross the antimeridian whole (as d3-geo expects). On a
  // flat map such an edge would run across the whole world: continue the ring past ±180
  // instead, and close a ring that goes round a pole along that pole.
  function unwrapRing(ring) {
    var out = [[ring[0][0], ring[0][1]]], offset = 0;
    for (var i = 1; i < ring.length; i += 1) {
      var step = ring[i][0] - ring[i - 1][0];
      if (step > 180) offset -= 360; else if (step < -180) offset += 360;
      out.push([ring[i][0] + offset, ring[i][1]]);
    }
    if (offset !== 0) {
      var pole = out.reduce(function (sum, p) { return sum + p[1]; }, 0) < 0 ? -90 : 90;
      out.push([out[out.length - 1][0], pole], [out[0][0], pole], out[0]);
    }
    return out;
  }
  function unwrapped(collection) {
    collection.features.forEach(function (f) {
      var g = f.geometry;
      if (!g) return;
      if (g.type === "Polygon") g.coordinates = g.coordinates.map(unwrapRing);
      if (g.type === "MultiPolygon") {
        g.coordinates = g.coordinates.map(function (poly) { return poly.map(unwrapRing); });
      }
    });
    return collection;
  }

  // protomaps-leaflet's colours (@protomaps/basemaps): "white" keeps the hexagons and
  // pins legible over it; its sea is the flavour's water.
  var FLAVOR = "white", SEA = "#dcdcdc";
  function isArchive(url) {
    try {
      return /\.pmtiles$/.test(new URL(url, window.location.href).pathname);
    } catch (e) {
      return false;
    }
  }

  // One download per page, however many maps draw the outlines.
  var fetched = {};
  function countries(url) {
    if (!fetched[url]) {
      fetched[url] = fetch(url, { credentials: "same-origin" })
        .then(function (r) {
          if (!r.ok) throw new Error("outlines: HTTP " + r.status);
          return r.json();
        })
        .then(function (topo) { return unwrapped(topojson.feature(topo, topo.objects.countries)); });
      fetched[url].catch(function () { delete fetched[url]; });
    }
    return fetched[url];
  }

  // Leaflet names its zoom buttons in English: the page gives their names in its own
  // language (data-zoom-in and data-zoom-out on <body>, or options.strings in the framed
  // heatmap, whose body is folium's).
  function labelZoom(container, strings) {
    [["in", strings.zoomIn], ["out", strings.zoomOut]].forEach(function (pair) {
      var button = container.querySelector(".leaflet-control-zoom-" + pair[0]);
      if (!button || !pair[1]) return;
      button.title = pair[1];
      button.setAttribute("aria-label", pair[1]);
    });
  }

  window.sosediBaseLayer = function (map, options) {
    var container = map.getContainer();
    labelZoom(container, options.strings || document.body.dataset);
    var outlines = null;
    if (!map.getPane("outlines")) map.createPane("outlines").style.zIndex = 250;

    function drawOutlines() {
      if (outlines || !options.outlinesUrl || typeof topojson === "undefined") return;
      outlines = "loading";
      countries(options.outlinesUrl)
        .then(function (collection) {
          outlines = L.geoJSON(collection, {
            pane: "outlines",
            interactive: false,
            attribution: "Natural Earth",
            style: { color: "#9aa3b2", weight: 0.8, fillColor: "#f7f5f0", fillOpacity: 1 }
          }).addTo(map);
          container.classList.add("has-outlines");
          if (options.onOutlines) options.onOutlines(outlines);
        })
        .catch(function (err) {
          outlines = null;
          if (window.console) console.error(err);
        });
    }

    var tiles = null;
    if (options.tileUrl && isArchive(options.tileUrl)) {
      if (typeof protomapsL === "undefined") {
        drawOutlines();
        return { tiles: null };
      }
      // The header says which zooms the archive holds; past its last one, protomaps-leaflet
      // draws that zoom's tiles larger. An archive that cannot be read gives the outlines.
      var source = new protomapsL.PmtilesSource(options.tileUrl, true);
      source.p.getHeader()
        .then(function (header) {
          tiles = protomapsL.leafletLayer({
            url: source.p,
            flavor: FLAVOR,
            lang: options.lang || document.documentElement.lang || "en",
            maxDataZoom: header.maxZoom,
            maxZoom: options.maxZoom || 18,
            attribution: options.attribution || ""
          });
          // The sea: a demo archive has land only, and a full one covers it with water.
          tiles.backgroundColor = SEA;
          tiles.once("load", function () { container.classList.add("has-basemap"); });
          tiles.addTo(map);
        })
        .catch(function (err) {
          if (window.console) console.error(err);
          drawOutlines();
        });
    } else if (options.tileUrl) {
      var loaded = 0, failed = 0;
      tiles = L.tileLayer(options.tileUrl, {
        attribution: options.attribution, maxZoom: options.maxZoom || 18
      });
      tiles.on("tileload", function () { loaded += 1; });
      tiles.on("tileerror", function () {
        failed += 1;
        if (!loaded && failed >= 2) { map.removeLayer(tiles); drawOutlines(); }
      });
      tiles.addTo(map);
      // A tile server that never answers is as bad as one that refuses.
      setTimeout(function () { if (!loaded) drawOutlines(); }, 5000);
    } else {
      drawOutlines();
    }
    return { tiles: tiles };
  };
})();
