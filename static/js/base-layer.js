/* The base layer of every map of the app: the configured tiles or, when there are none or
   they fail, Natural Earth country outlines (world-atlas TopoJSON, through topojson-client,
   both served by the app). Used by /map/, the pin pickers, the event page and, inside its
   folium document, the organizers' heatmap.

   sosediBaseLayer(map, {tileUrl, attribution, maxZoom, outlinesUrl, onOutlines})
   The map's container gets the class "has-outlines" once they are drawn. */
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

  window.sosediBaseLayer = function (map, options) {
    var container = map.getContainer();
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
    if (options.tileUrl) {
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
