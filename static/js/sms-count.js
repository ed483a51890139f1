// Texting a segment: the length, parts and cost of the text as it is typed, counted as
// supporters/sms/parts.py counts them (GSM-7 160/153, the extension table's characters
// taking two; any other character makes it UCS-2 70/67), with each language's footer.
(function () {
  "use strict";
  var form = document.getElementById("texting-form");
  if (!form) return;
  var body = form.querySelector("textarea[name=body]");
  var GSM_BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var GSM_EXTENDED = "^{}\\[~]|€\f";
  var SINGLE = { "GSM-7": 160, "UCS-2": 70 };
  var PART = { "GSM-7": 153, "UCS-2": 67 };
  var maxParts = parseInt(form.dataset.maxParts, 10);
  var pageLanguage = form.dataset.pageLanguage;
  var numbers = new Intl.NumberFormat(document.documentElement.lang || undefined, {
    minimumFractionDigits: 2, maximumFractionDigits: 2, useGrouping: false
  });

  function textParts(text) {
    var gsm = true, septets = 0;
    // for...of walks code points; an emoji is not GSM, and .length counts it as two units.
    for (var c of text) {
      if (GSM_EXTENDED.indexOf(c) >= 0) septets += 2;
      else if (GSM_BASIC.indexOf(c) >= 0) septets += 1;
      else { gsm = false; break; }
    }
    var encoding = gsm ? "GSM-7" : "UCS-2";
    var length = gsm ? septets : text.length;
    var parts = length <= SINGLE[encoding] ? (length ? 1 : 0) : Math.ceil(length / PART[encoding]);
    return { encoding: encoding, length: length, parts: parts };
  }

  // The price as an exact decimal (e.g. "0.05" = 5 units of 10^-2), so that the cost is
  // rounded to cents as the server rounds it (half up), without float error.
  var priceText = form.dataset.price || "0";
  var decimals = (priceText.split(".")[1] || "").length;
  var priceUnits = parseInt(priceText.replace(".", ""), 10) || 0;
  var exact = /^\d+(\.\d+)?$/.test(priceText);

  function cents(parts) {
    if (!exact) return Math.round(parts * parseFloat(priceText) * 100);
    var units = parts * priceUnits;
    if (decimals <= 2) return units * Math.pow(10, 2 - decimals);
    var d = Math.pow(10, decimals - 2);
    return Math.floor((units * 2 + d) / (2 * d));
  }

  function money(c) { return numbers.format(c / 100); }

  function set(el, value) { if (el) el.textContent = String(value); }

  function update() {
    var text = body.value.trim();
    var totalParts = 0, tooLong = false;
    form.querySelectorAll("#texting-languages tbody tr[data-language]").forEach(function (row) {
      var p = text ? textParts(text + "\n" + row.dataset.footer) : { encoding: "GSM-7", length: 0, parts: 0 };
      var recipients = parseInt(row.dataset.recipients, 10) || 0;
      var rowParts = recipients * p.parts;
      totalParts += rowParts;
      if (p.parts > maxParts) tooLong = true;
      set(row.querySelector(".sms-length"), p.length);
      set(row.querySelector(".sms-parts"), p.parts);
      set(row.querySelector(".sms-parts-total"), rowParts);
      set(row.querySelector(".sms-cost"), money(cents(rowParts)));
      if (row.dataset.language === pageLanguage) {
        set(document.getElementById("sms-length"), p.length);
        set(document.getElementById("sms-parts"), p.parts);
        set(document.getElementById("sms-encoding"), p.encoding);
      }
    });
    // The server sums the parts first and rounds once: do the same.
    set(document.getElementById("texting-parts-total"), totalParts);
    set(document.getElementById("texting-cost"), money(cents(totalParts)));
    set(document.getElementById("texting-cost-line"), money(cents(totalParts)));
    document.getElementById("sms-too-long").hidden = !tooLong;
    body.setAttribute("aria-invalid", tooLong ? "true" : "false");
  }

  body.addEventListener("input", update);
  update();
})();
