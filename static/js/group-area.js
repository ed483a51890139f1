/* A group's area drawn on the map: each click adds a corner, the polygon goes into the
   form's hidden field as GeoJSON (checked again on the server: size, shape, corners). */
(function () {
  "use strict";
  var el = document.getElementById("area-map");
  if (!el || typeof L === "undefined") return;
  var field = document.getElementById(el.dataset.field);
  var status = document.getElementById("area-status");
  var initialStatus = status ? status.textContent : "";
  var corners = [], shape = null, map = null;

  function write() {
    if (shape) map.removeLayer(shape);
    shape = corners.length > 1 ? L.polygon(corners, { color: "#2f6f4f" }).addTo(map) : null;
    if (corners.length < 3) { field.value = ""; return; }
    var ring = corners.map(function (ll) { return [ll.lng, ll.lat]; });
    ring.push(ring[0]);
    field.value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
    if (status) status.textContent = corners.length + " ✓";
    var radio = document.querySelector('input[name="area_kind"][value="polygon"]');
    if (radio) radio.checked = true;
  }
  function init() {
    if (map) return;
    map = L.map(el).setView([55.75, 37.62], 4);
    if (window.sosediBaseLayer) {
      window.sosediBaseLayer(map, {
        tileUrl: el.dataset.tileUrl,
        attribution: el.dataset.tileAttribution,
        outlinesUrl: el.dataset.outlinesUrl
      });
    }
    map.on("click", function (e) { corners.push(e.latlng.wrap()); write(); });
  }
  var details = el.closest("details");
  details.addEventListener("toggle", function () { if (details.open) { init(); map.invalidateSize(); } });
  document.getElementById("area-clear").addEventListener("click", function () {
    corners = []; write(); if (status) status.textContent = initialStatus;
  });
})();
