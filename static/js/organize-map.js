// Inside the organizers' heatmap (a folium document framed by the dashboard): hotspot
// markers, and drawing a segment's area (leaflet.draw), reported to the dashboard page.
(function () {
  "use strict";

  function tell(message) {
    if (window.parent !== window) window.parent.postMessage(message, window.location.origin);
  }

  // Hotspot markers: sized by supporters, rank 1 on top, and moved apart (with a line back
  // to the true place) where they would overlap at the current zoom, in rank order: rank 1
  // stays put, so that a "1" never hides under a "10".
  function hotspotMarkers(map, hotspots, strings) {
    if (!hotspots.length) return;
    var top = Math.max.apply(null, hotspots.map(function (h) { return h.supporters; }).concat([1]));
    var spots = hotspots.slice().sort(function (a, b) { return a.rank - b.rank; });
    var leaders = L.layerGroup().addTo(map);
    var items = spots.map(function (h, i) {
      var text = (strings.hotspot || "")
        .replace("%(rank)s", h.rank).replace("%(place)s", h.label).replace("%(n)s", h.supporters);
      var size = Math.round(22 + 14 * Math.sqrt(h.supporters / top));  // 22 to 36 px
      var label = document.createElement("span");
      label.className = "org-hotspot-label";
      label.textContent = String(h.rank);
      var home = L.latLng(h.lat, h.lon);
      var marker = L.marker(home, {
        icon: L.divIcon({ className: "org-hotspot", html: label, iconSize: [size, size] }),
        title: text,
        alt: text,
        riseOnHover: true,
        zIndexOffset: 1000 * (spots.length - i),  // rank 1 above rank 2, and so on
      });
      var popup = document.createElement("span");
      popup.textContent = text;  // a place name is text, never markup
      marker.bindPopup(popup).addTo(map);
      return { home: home, size: size, marker: marker };
    });

    function clear(point, size, placed) {
      return placed.every(function (p) {
        return point.distanceTo(p.point) >= (size + p.size) / 2 + 2;
      });
    }
    function declutter() {
      leaders.clearLayers();
      var placed = [];
      items.forEach(function (item) {
        var home = map.latLngToLayerPoint(item.home), at = home;
        // Rings around the true place, each a marker wide, 12 positions a ring.
        for (var ring = 1; ring <= 6 && !clear(at, item.size, placed); ring += 1) {
          for (var k = 0; k < 12; k += 1) {
            var angle = -Math.PI / 2 + (k * Math.PI) / 6;
            var d = ring * (item.size * 0.75 + 4);
            var candidate = home.add(L.point(Math.cos(angle) * d, Math.sin(angle) * d));
            if (clear(candidate, item.size, placed)) { at = candidate; break; }
          }
        }
        placed.push({ point: at, size: item.size });
        var latlng = at === home ? item.home : map.layerPointToLatLng(at);
        item.marker.setLatLng(latlng);
        item.marker.getElement().classList.toggle("is-moved", at !== home);
        if (at !== home) {
          L.polyline([item.home, latlng], {
            color: "#1d2330", weight: 1.5, opacity: 0.8, interactive: false
          }).addTo(leaders);
          L.circleMarker(item.home, {
            radius: 3, color: "#1d2330", weight: 1, fillColor: "#1d2330", fillOpacity: 1,
            interactive: false
          }).addTo(leaders);
        }
      });
      document.documentElement.dataset.hotspotsMoved =
        String(items.filter(function (i) { return i.marker.getElement().classList.contains("is-moved"); }).length);
    }
    map.on("zoomend", declutter);
    declutter();
  }

  // Local groups' areas as outlines, each with its name and member count.
  function groupAreas(map, groups, strings) {
    groups.forEach(function (g) {
      var text = (strings.group || "").replace("%(name)s", g.name).replace("%(n)s", g.members);
      var label = document.createElement("span");
      label.textContent = text;  // a group's name is text, never markup
      L.geoJSON(g.area, {
        interactive: true,
        style: { color: "#2f6f4f", weight: 2, dashArray: "6 4", fill: false }
      }).bindTooltip(label, { sticky: true }).addTo(map);
    });
    document.documentElement.dataset.groupAreas = String(groups.length);
  }

  window.sosediOrganizeMap = function (map, config) {
    var strings = config.strings || {};
    if (!config.cells) {
      var empty = L.control({ position: "topright" });
      empty.onAdd = function () {
        var div = L.DomUtil.create("div", "org-map-note");
        div.textContent = strings.empty || "";
        return div;
      };
      empty.addTo(map);
    }

    groupAreas(map, config.groups || [], strings);
    hotspotMarkers(map, config.hotspots || [], strings);

    var drawn = new L.FeatureGroup().addTo(map);
    if (L.Control && L.Control.Draw) {
      map.addControl(new L.Control.Draw({
        position: "topleft",
        draw: { polyline: false, rectangle: false, marker: false, circlemarker: false,
                polygon: { allowIntersection: false, showArea: false }, circle: { showRadius: true } },
        edit: { featureGroup: drawn, edit: false, remove: true },
      }));
      map.on(L.Draw.Event.CREATED, function (e) {
        drawn.clearLayers();
        drawn.addLayer(e.layer);
        if (e.layerType === "circle") {
          var c = e.layer.getLatLng();
          tell({ type: "sosedi-circle", lat: c.lat, lon: c.lng, radius_km: e.layer.getRadius() / 1000 });
        } else {
          tell({ type: "sosedi-area", geojson: e.layer.toGeoJSON() });
        }
      });
      map.on(L.Draw.Event.DELETED, function () { tell({ type: "sosedi-clear" }); });
    }

    // The dashboard asks to show a circle (a hotspot's "3 km segment" button).
    window.addEventListener("message", function (e) {
      if (e.origin !== window.location.origin || !e.data || e.data.type !== "sosedi-show-circle") return;
      drawn.clearLayers();
      var circle = L.circle([e.data.lat, e.data.lon], { radius: e.data.radius_km * 1000, color: "#e4572e" });
      drawn.addLayer(circle);
      map.fitBounds(circle.getBounds(), { padding: [20, 20] });
    });
    document.documentElement.dataset.mapReady = "true";
    tell({ type: "sosedi-map-ready", cells: config.cells });
  };
})();
