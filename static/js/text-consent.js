// The text-messages consent only makes sense with a phone number: it is hidden while the
// phone field is empty (and shown at once when a number is typed). Without this script it
// is always shown, and the form says so if it is ticked without a number.
(function () {
  "use strict";
  document.querySelectorAll("[data-needs-phone]").forEach(function (box) {
    var phone = document.getElementById(box.getAttribute("data-needs-phone"));
    var tick = box.querySelector("input[type=checkbox]");
    if (!phone || !tick) return;
    function update() {
      // A ticked box stays in sight: hiding a choice someone made would hide their error.
      // (style, not the hidden attribute: .check's display: flex would override that)
      box.style.display = phone.value.trim() === "" && !tick.checked ? "none" : "";
    }
    phone.addEventListener("input", update);
    update();
  });
})();
