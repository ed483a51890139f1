// Inside the organizers' heatmap (a folium document framed by the dashboard): hotspot
// markers, and drawing a segment's area (leaflet.draw), reported to the dashboard page.
(function () {
  "use strict";

  function tell(message) {
    if (window.parent !== window) window.parent.postMessage(message, window.location.origin);
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

    (config.hotspots || []).forEach(function (h) {
      var text = (strings.hotspot || "")
        .replace("%(rank)s", h.rank).replace("%(place)s", h.label).replace("%(n)s", h.supporters);
      L.circleMarker([h.lat, h.lon], {
        radius: 11, color: "#1d2330", weight: 2, fillColor: "#fff", fillOpacity: 0.9,
      }).bindTooltip(String(h.rank), { permanent: true, direction: "center", className: "org-hotspot-label" })
        .bindPopup(text)
        .addTo(map);
    });

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
