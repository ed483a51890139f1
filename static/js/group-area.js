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

/* A circle around a pin (location-field.js runs the pin map): a click on the map chooses
   "a circle" as the kind of area, and the circle is drawn at the radius given. */
(function () {
  "use strict";
  var el = document.getElementById("pin-map");
  var radius = document.getElementById("id_radius_km");
  if (!el || !radius || typeof L === "undefined") return;
  var latField = document.getElementById(el.dataset.latField);
  var lonField = document.getElementById(el.dataset.lonField);
  var map = null, circle = null, centre = null;

  function draw() {
    var km = parseFloat(radius.value);
    if (circle) { map.removeLayer(circle); circle = null; }
    if (!map || !centre || !(km > 0)) return;
    circle = L.circle(centre, {
      radius: km * 1000, className: "group-circle", interactive: false,
      color: "#2f6f4f", weight: 2, fillColor: "#3c9a6b", fillOpacity: 0.2
    }).addTo(map);
    if (!map.getBounds().contains(circle.getBounds())) {
      map.fitBounds(circle.getBounds(), { padding: [10, 10] });
    }
  }
  // The pin map is made when its <details> first opens: catch it then. Its own click
  // handler (which fills the hidden fields) comes after this one, so read the click.
  L.Map.addInitHook(function () {
    if (this.getContainer() !== el) return;
    map = this;
    map.on("click", function (e) {
      centre = e.latlng.wrap();
      var radio = document.querySelector('input[name="area_kind"][value="circle"]');
      if (radio) radio.checked = true;
      draw();
    });
    setTimeout(function () {  // a form shown again with its pin
      if (latField.value && lonField.value) {
        centre = L.latLng(parseFloat(latField.value), parseFloat(lonField.value));
        draw();
      }
    }, 0);
  });
  radius.addEventListener("input", draw);
})();
