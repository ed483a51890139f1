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

  // A home pin is snapped in the page to the centre of its hexagon (h3-js, served by the
  // app), so neither the place lookup nor the form ever carries the point itself. A venue's
  // pin (no data-snap-resolution) is public and exact by design.
  var snapResolution = parseInt(mapEl.dataset.snapResolution || "", 10);
  function snapped(latlng) {
    if (!snapResolution || !window.h3) return latlng;
    var centre = h3.cellToLatLng(h3.latLngToCell(latlng.lat, latlng.lng, snapResolution));
    return L.latLng(centre[0], centre[1]);
  }
  var map = null, marker = null, hexagon = null;
  function setPin(latlng) {
    latlng = snapped(latlng.wrap());  // a tap on a repeated copy of the world is still on Earth
    if (marker) {
      marker.setLatLng(latlng);
    } else {
      // Tap to place, drag to move: the marker follows the finger and lands on a hexagon.
      marker = L.marker(latlng, { draggable: true, autoPan: true, keyboard: true }).addTo(map);
      marker.on("dragend", function () { setPin(marker.getLatLng()); });
    }
    if (snapResolution && window.h3) {
      var cell = h3.latLngToCell(latlng.lat, latlng.lng, snapResolution);
      var ring = h3.cellToBoundary(cell);
      if (hexagon) hexagon.setLatLngs(ring);
      else hexagon = L.polygon(ring, { color: "#b83a17", weight: 2, fillOpacity: .15, interactive: false }).addTo(map);
    }
    latField.value = latlng.lat.toFixed(6);
    lonField.value = latlng.lng.toFixed(6);
    var url = mapEl.dataset.locateUrl + "?lat=" + latField.value + "&lon=" + lonField.value;
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        // A home pin decides the town: the field says so, rather than a town typed before.
        if (data.city && snapResolution) text.value = data.city;
        if (!status) return;
        status.textContent = data.city ? ("✓ " + [data.city, data.region, data.country_code].filter(Boolean).join(", ")) : (data.error || "");
      })
      .catch(function () {});
  }
  function clearPin() {
    if (marker) { map.removeLayer(marker); marker = null; }
    if (hexagon) { map.removeLayer(hexagon); hexagon = null; }
    latField.value = ""; lonField.value = "";
    if (status) status.textContent = initialStatus;
  }
  function initMap() {
    if (map) return;
    map = L.map(mapEl, { worldCopyJump: true, tap: true }).setView([55.75, 37.62], 4);
    if (window.sosediBaseLayer) {
      window.sosediBaseLayer(map, {
        tileUrl: mapEl.dataset.tileUrl,
        attribution: mapEl.dataset.tileAttribution,
        outlinesUrl: mapEl.dataset.outlinesUrl
      });
    }
    map.on("click", function (e) {
      setPin(e.latlng);
      // A first tap on a whole country is rough: come closer, to drag the pin into place.
      if (map.getZoom() < 9) map.setView(marker.getLatLng(), 12);
    });
    if (latField.value && lonField.value) {
      var ll = L.latLng(parseFloat(latField.value), parseFloat(lonField.value));
      map.setView(ll, 12);
      setPin(ll);
    } else if (text.value.trim().length >= 2) {
      // Open where the person said they live, not on the default view.
      fetch(mapEl.dataset.placesUrl + "?q=" + encodeURIComponent(text.value.trim()), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (data) {
          var place = data.results[0];
          if (place && !marker) {
            map.setView([place.lat, place.lon], 10);
            mapEl.dataset.centredOn = place.name;
          }
        })
        .catch(function () {});
    }
  }
  // "Use my location": the device's position, snapped to its hexagon before it is used.
  var locate = document.getElementById("pin-locate");
  if (locate && snapResolution && window.h3 && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      var details = mapEl.closest("details");
      if (details && !details.open) details.open = true;
      initMap();
      if (status) status.textContent = locate.dataset.waiting || "";
      navigator.geolocation.getCurrentPosition(function (position) {
        var ll = L.latLng(position.coords.latitude, position.coords.longitude);
        setPin(ll);
        map.setView(marker.getLatLng(), 13);
      }, function () {
        if (status) status.textContent = locate.dataset.refused || "";
      }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 });
    });
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
