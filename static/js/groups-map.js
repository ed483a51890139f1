/* The areas of local groups on a map (the list and a group's page): shapes, names and
   links only, from the page's own data; Leaflet and base-layer.js are served by the app. */
(function () {
  "use strict";
  var el = document.getElementById("groups-map");
  if (!el || typeof L === "undefined") return;
  var areas = JSON.parse(el.dataset.areas || '{"features": []}');
  var map = L.map(el, { scrollWheelZoom: false }).setView([55.75, 37.62], 3);
  if (window.sosediBaseLayer) {
    window.sosediBaseLayer(map, {
      tileUrl: el.dataset.tileUrl,
      attribution: el.dataset.tileAttribution,
      outlinesUrl: el.dataset.outlinesUrl
    });
  }
  var layer = L.geoJSON(areas, {
    style: { color: "#2f6f4f", weight: 2, fillColor: "#3c9a6b", fillOpacity: 0.2 },
    onEachFeature: function (feature, shape) {
      var link = document.createElement("a");
      link.href = feature.properties.url;
      link.textContent = feature.properties.name;
      shape.bindPopup(link);
    }
  }).addTo(map);
  if (areas.features.length) map.fitBounds(layer.getBounds(), { maxZoom: 11, padding: [10, 10] });
})();
