// The organizer dashboard: builds a segment from what is drawn on the heatmap (or a
// hotspot) and shows its size before anything is saved or sent.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("organize-config").textContent);
  var form = document.getElementById("segment-form");
  var size = document.getElementById("segment-size");
  var frame = document.getElementById("heatmap");
  if (!form) return;
  var field = function (name) { return form.elements[name]; };

  function setCircle(lat, lon, radius) {
    field("area").value = "";
    field("lat").value = lat.toFixed(6);
    field("lon").value = lon.toFixed(6);
    field("radius_km").value = radius.toFixed(2);
  }

  var timer = null;
  function refreshSize() {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var data = new FormData(form);
      fetch(config.size_url, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (result) {
          if (result.errors) {
            size.textContent = Object.values(result.errors).map(function (e) { return e.join(" "); }).join(" ");
            return;
          }
          size.textContent = config.strings.size
            .replace("%(n)s", result.supporters).replace("%(m)s", result.reachable);
        });
    }, 250);
  }

  window.addEventListener("message", function (e) {
    if (e.origin !== window.location.origin || !e.data) return;
    if (e.data.type === "sosedi-area") {
      field("lat").value = field("lon").value = field("radius_km").value = "";
      field("area").value = JSON.stringify(e.data.geojson);
      refreshSize();
    } else if (e.data.type === "sosedi-circle") {
      setCircle(e.data.lat, e.data.lon, e.data.radius_km);
      refreshSize();
    } else if (e.data.type === "sosedi-clear") {
      field("area").value = field("lat").value = field("lon").value = field("radius_km").value = "";
      refreshSize();
    } else if (e.data.type === "sosedi-map-ready") {
      document.body.dataset.heatmapReady = "true";
    }
  });

  document.querySelectorAll("[data-segment-lat]").forEach(function (button) {
    button.addEventListener("click", function () {
      var lat = parseFloat(button.dataset.segmentLat), lon = parseFloat(button.dataset.segmentLon);
      setCircle(lat, lon, 3);
      if (!field("name").value) field("name").value = button.dataset.segmentName;
      frame.contentWindow.postMessage({ type: "sosedi-show-circle", lat: lat, lon: lon, radius_km: 3 }, window.location.origin);
      form.scrollIntoView({ behavior: "smooth", block: "nearest" });
      refreshSize();
    });
  });
  form.addEventListener("change", refreshSize);
  refreshSize();
})();
