/* An event's page: the public venue on a small map (Leaflet and base-layer.js served by the
   app itself). */
(function () {
  "use strict";
  var el = document.getElementById("venue-map");
  if (!el || typeof L === "undefined") return;
  var ll = L.latLng(parseFloat(el.dataset.lat), parseFloat(el.dataset.lon));
  var map = L.map(el, { scrollWheelZoom: false }).setView(ll, 15);
  if (window.sosediBaseLayer) {
    window.sosediBaseLayer(map, {
      tileUrl: el.dataset.tileUrl,
      attribution: el.dataset.tileAttribution,
      outlinesUrl: el.dataset.outlinesUrl,
      // Country outlines say nothing at street level: show where in the country it is.
      onOutlines: function () { if (map.getZoom() > 5) map.setView(ll, 5); }
    });
  }
  L.circleMarker(ll, { radius: 9, color: "#b83a17", fillColor: "#e4572e", fillOpacity: 0.9, weight: 2 })
    .addTo(map)
    .bindTooltip(el.dataset.label, { permanent: true, direction: "top", offset: [0, -8] });
})();
