// The header's menu on narrow screens: a button that shows and hides the site's links.
// Without JavaScript the button stays hidden and the links wrap in the header as they are.
(function () {
  "use strict";
  var header = document.querySelector(".site-header");
  var button = document.getElementById("menu-toggle");
  if (!header || !button) return;
  header.classList.add("has-menu");
  button.hidden = false;

  function set(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    header.classList.toggle("menu-open", open);
  }
  button.addEventListener("click", function () {
    set(button.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && header.classList.contains("menu-open")) {
      set(false);
      button.focus();
    }
  });
  document.addEventListener("click", function (ev) {
    if (header.classList.contains("menu-open") && !header.contains(ev.target)) set(false);
  });
})();
