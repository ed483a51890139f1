/* The public supporter map (/map/ and /map/embed/).
   Reads only /api/public/cells (the k-anonymous snapshot), /api/public/groups (local
   groups' area centres) and /api/places/; Leaflet,
   leaflet.heat, topojson-client, base-layer.js and the world outlines are all served by
   this site. */
(function () {
  "use strict";
  var el = document.getElementById("public-map");
  var configEl = document.getElementById("public-map-config");
  if (!el || !configEl || typeof L === "undefined") return;
  var config = JSON.parse(configEl.textContent);
  var t = config.strings;
  var COLORS = ["#fdd49e", "#fdae6b", "#f8804a", "#e0452b", "#a8181a"];
  var status = document.getElementById("map-status");

  var map = L.map(el, {
    worldCopyJump: true, minZoom: 2, maxZoom: config.max_zoom, zoomSnap: 1
  }).setView([config.lat, config.lon], config.zoom);

  // Where the map is, for deep links and for tests (read from the element's data-*).
  function recordView() {
    var c = map.getCenter();
    el.dataset.lat = c.lat.toFixed(4);
    el.dataset.lon = c.lng.toFixed(4);
    el.dataset.zoom = String(map.getZoom());
  }

  function setStatus(text) {
    if (status) status.textContent = text || "";
    if (status) status.hidden = !text;
  }

  // Base layer: the configured tiles, or country outlines when there are none or they fail.
  if (window.sosediBaseLayer) {
    window.sosediBaseLayer(map, {
      tileUrl: config.tile_url,
      attribution: config.tile_attribution,
      maxZoom: config.max_zoom,
      outlinesUrl: config.outlines_url
    });
  }

  // Colour classes from the counts in view: lower bounds at the 0/20/40/60/80th percentiles.
  var breaks = [];
  function classBreaks(counts) {
    if (!counts.length) return [];
    var sorted = counts.slice().sort(function (a, b) { return a - b; });
    var found = [];
    [0, 0.2, 0.4, 0.6, 0.8].forEach(function (q) {
      var v = sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
      if (found.indexOf(v) === -1) found.push(v);
    });
    return found;
  }
  function classOf(count) {
    var i = breaks.length - 1;
    while (i > 0 && count < breaks[i]) i -= 1;
    return i;
  }
  function colorOf(i) {
    if (breaks.length <= 1) return COLORS[2];
    return COLORS[Math.round(i * (COLORS.length - 1) / (breaks.length - 1))];
  }
  function formatCount(n) { return n.toLocaleString(document.documentElement.lang || undefined); }

  var hexes = L.geoJSON(null, {
    style: function (feature) {
      return {
        className: "sosedi-cell", color: "#ffffff", weight: 1, opacity: 0.9,
        fillColor: colorOf(classOf(feature.properties.count)), fillOpacity: 0.75
      };
    },
    onEachFeature: function (feature, layer) {
      var label = document.createElement("span");
      label.textContent = t.about.replace("%(count)s", formatCount(feature.properties.count));
      layer.bindTooltip(label, { sticky: true, direction: "top" });
    }
  }).addTo(map);
  var heat = typeof L.heatLayer === "function"
    ? L.heatLayer([], { radius: 24, blur: 20, minOpacity: 0.3, max: 1 })
    : null;

  function renderLegend() {
    var list = document.getElementById("map-legend-classes");
    if (!list) return;
    list.replaceChildren();
    breaks.forEach(function (low, i) {
      var item = document.createElement("li");
      var swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.backgroundColor = colorOf(i);
      var next = breaks[i + 1];
      var text = document.createElement("span");
      text.textContent = next === undefined ? formatCount(low) + "+"
        : (next - 5 > low ? formatCount(low) + "–" + formatCount(next - 5) : formatCount(low));
      item.append(swatch, text);
      list.appendChild(item);
    });
    document.getElementById("map-legend").classList.toggle("is-empty", !breaks.length);
  }

  function centroid(ring) {
    var x = 0, y = 0, n = ring.length - 1;  // the last point repeats the first
    for (var i = 0; i < n; i += 1) { x += ring[i][0]; y += ring[i][1]; }
    return [y / n, x / n];
  }

  // leaflet.heat redraws on every change and fails when off the map: update it only there.
  var heatPoints = [];
  function updateHeat() {
    if (!heat || !map.hasLayer(heat)) return;
    // Intensities are relative to the densest hexagon in view, whatever the zoom.
    heat.setOptions({ maxZoom: map.getZoom() });
    heat.setLatLngs(heatPoints);
  }

  function render(data) {
    var counts = data.features.map(function (f) { return f.properties.count; });
    breaks = classBreaks(counts);
    hexes.clearLayers();
    hexes.addData(data);
    var max = Math.max.apply(null, counts.concat([1]));
    heatPoints = data.features.map(function (f) {
      var c = centroid(f.geometry.coordinates[0]);
      return [c[0], c[1], f.properties.count / max];
    });
    updateHeat();
    renderLegend();
    el.dataset.cells = String(data.features.length);
    el.dataset.resolution = String(data.resolution || "");
    setStatus(data.features.length ? "" : t.no_cells);
  }

  var pending = null, timer = null;
  function load() {
    var b = map.getBounds();
    // worldCopyJump can leave the view on a copy of the world: bring it back to -180..180.
    var shift = 360 * Math.round(map.getCenter().lng / 360);
    var w = Math.max(-180, b.getWest() - shift), e = Math.min(180, b.getEast() - shift);
    var s = Math.max(-85, b.getSouth()), n = Math.min(85, b.getNorth());
    var bbox = [w, s, e, n].map(function (v) { return v.toFixed(3); }).join(",");
    var url = config.cells_url + "?bbox=" + bbox + "&zoom=" + Math.round(map.getZoom());
    if (pending) pending.abort();
    pending = new AbortController();
    el.classList.add("is-loading");
    fetch(url, { credentials: "same-origin", signal: pending.signal })
      .then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      })
      .then(function (res) {
        el.classList.remove("is-loading");
        if (!res.ok) { setStatus(res.body.error || t.error); return; }
        render(res.body);
      })
      .catch(function (err) {
        if (err.name === "AbortError") return;
        el.classList.remove("is-loading");
        setStatus(t.error);
        if (window.console) console.error(err);
      });
  }
  map.on("moveend", function () {
    recordView();
    clearTimeout(timer);
    timer = setTimeout(load, 150);
  });
  recordView();
  load();

  // Hexagons or heat.
  var modes = document.getElementById("map-modes");
  var legendHeat = document.getElementById("map-legend-heat");
  var legendClasses = document.getElementById("map-legend-classes");
  function setMode(mode) {
    if (mode === "heat" && heat) {
      map.removeLayer(hexes);
      heat.addTo(map);
      updateHeat();
    } else {
      mode = "hexagons";
      if (heat) map.removeLayer(heat);
      hexes.addTo(map);
    }
    el.dataset.mode = mode;
    modes.querySelectorAll("button").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.mode === mode));
    });
    if (legendHeat) legendHeat.hidden = mode !== "heat";
    if (legendClasses) legendClasses.hidden = mode === "heat";
  }
  if (modes) {
    modes.addEventListener("click", function (ev) {
      var button = ev.target.closest("button[data-mode]");
      if (button) setMode(button.dataset.mode);
    });
  }

  // The overlays sit on the map as Leaflet controls, so clicks on them do not pan the map.
  function asControl(id, position) {
    var node = document.getElementById(id);
    if (!node) return;
    var Control = L.Control.extend({ onAdd: function () { return node; } });
    new Control({ position: position }).addTo(map);
    L.DomEvent.disableClickPropagation(node);
    L.DomEvent.disableScrollPropagation(node);
  }
  asControl("map-modes", "topright");
  asControl("map-legend", "bottomleft");
  asControl("map-status", "bottomleft");
  map.invalidateSize();

  // Place search through the gazetteer; the map flies to the chosen place.
  var form = document.getElementById("place-search");
  if (form) {
    var input = document.getElementById("place-query");
    var results = document.getElementById("place-results");
    var flyTo = function (place) {
      map.flyTo([place.lat, place.lon], 10, { duration: 1.2 });
    };
    var show = function (places) {
      results.replaceChildren();
      if (!places.length) {
        var none = document.createElement("li");
        none.className = "help";
        none.textContent = t.no_places;
        results.appendChild(none);
        return;
      }
      places.slice(0, 6).forEach(function (place) {
        var item = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "suggestion";
        button.textContent = place.label;
        button.addEventListener("click", function () { flyTo(place); });
        item.appendChild(button);
        results.appendChild(item);
      });
    };
    var search = function (q) {
      return fetch(config.places_url + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (data) { return data.results || []; });
    };
    var typing = null;
    input.addEventListener("input", function () {
      clearTimeout(typing);
      var q = input.value.trim();
      if (q.length < 2) { results.replaceChildren(); return; }
      typing = setTimeout(function () { search(q).then(show).catch(function () {}); }, 250);
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearTimeout(typing);
      var q = input.value.trim();
      if (!q) return;
      search(q).then(function (places) {
        show(places);
        if (places.length) flyTo(places[0]);
      }).catch(function () {});
    });
  }

  // Local groups: a marker at each approved group's area centre, linking to its page.
  if (config.groups_url) {
    fetch(config.groups_url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { features: [] }; })
      .then(function (data) {
        var layer = L.layerGroup();
        data.features.forEach(function (f) {
          var c = f.geometry.coordinates;
          var popup = document.createElement("div");
          var link = document.createElement("a");
          link.href = f.properties.url;
          link.textContent = f.properties.name;
          popup.appendChild(link);
          var count = document.createElement("div");
          count.textContent = f.properties.members === null ? t.group_few
            : t.group_members.replace("%(count)s", f.properties.members);
          popup.appendChild(count);
          L.circleMarker([c[1], c[0]], {
            radius: 7, color: "#1f5a3f", weight: 2, fillColor: "#3c9a6b", fillOpacity: 0.9,
            className: "group-marker"
          }).bindPopup(popup).addTo(layer);
        });
        layer.addTo(map);
        el.dataset.groups = String(data.features.length);
      })
      .catch(function () {});
  }

  // The embed snippet's copy button.
  var copy = document.getElementById("embed-copy");
  var code = document.getElementById("embed-code");
  if (copy && code) {
    copy.addEventListener("click", function () {
      var done = function () { copy.textContent = t.copied; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(code.value).then(done).catch(function () {});
      } else {
        code.select();
        if (document.execCommand("copy")) done();
      }
    });
  }
})();
