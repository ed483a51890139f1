/* "Where you live" (and an event's venue): place suggestions as you type, and an optional
   pin on a map. Loaded as a file (no inline script), with Leaflet and base-layer.js served
   by the app itself. */
(function () {
  "use strict";
  var mapEl = document.getElementById("pin-map");
  if (!mapEl) return;
  var text = document.getElementById(mapEl.dataset.textField);
  var latField = document.getElementById(mapEl.dataset.latField);
  var lonField = document.getElementById(mapEl.dataset.lonField);
  var status = document.getElementById("pin-status");
  var datalist = document.getElementById("place-suggestions");
  var initialStatus = status ? status.textContent : "";

  document.querySelectorAll("button.suggestion").forEach(function (button) {
    button.addEventListener("click", function () {
      text.value = button.dataset.value;
      text.focus();
    });
  });

  var timer = null;
  text.addEventListener("input", function () {
    clearTimeout(timer);
    var q = text.value.trim();
    if (q.length < 2) return;
    timer = setTimeout(function () {
      fetch(mapEl.dataset.placesUrl + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (data) {
          datalist.replaceChildren();
          data.results.forEach(function (p) {
            var option = document.createElement("option");
            option.value = p.label;
            datalist.appendChild(option);
          });
        })
        .catch(function () {});
    }, 250);
  });

  var map = null, marker = null;
  function setPin(latlng) {
    latlng = latlng.wrap();  // a click on a repeated copy of the world is still on Earth
    if (marker) marker.setLatLng(latlng); else marker = L.marker(latlng).addTo(map);
    latField.value = latlng.lat.toFixed(6);
    lonField.value = latlng.lng.toFixed(6);
    var url = mapEl.dataset.locateUrl + "?lat=" + latField.value + "&lon=" + lonField.value;
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (!status) return;
        status.textContent = data.city ? ("✓ " + [data.city, data.region, data.country_code].filter(Boolean).join(", ")) : (data.error || "");
      })
      .catch(function () {});
  }
  function clearPin() {
    if (marker) { map.removeLayer(marker); marker = null; }
    latField.value = ""; lonField.value = "";
    if (status) status.textContent = initialStatus;
  }
  function initMap() {
    if (map) return;
    map = L.map(mapEl, { worldCopyJump: true }).setView([55.75, 37.62], 4);
    if (window.sosediBaseLayer) {
      window.sosediBaseLayer(map, {
        tileUrl: mapEl.dataset.tileUrl,
        attribution: mapEl.dataset.tileAttribution,
        outlinesUrl: mapEl.dataset.outlinesUrl
      });
    }
    map.on("click", function (e) { setPin(e.latlng); });
    if (latField.value && lonField.value) {
      var ll = L.latLng(parseFloat(latField.value), parseFloat(lonField.value));
      map.setView(ll, 12);
      setPin(ll);
    }
  }
  var details = mapEl.closest("details");
  if (details) {
    details.addEventListener("toggle", function () { if (details.open) { initMap(); map.invalidateSize(); } });
    if (details.open) initMap();
  } else {
    initMap();
  }
  var clear = document.getElementById("pin-clear");
  if (clear) clear.addEventListener("click", clearPin);
})();
