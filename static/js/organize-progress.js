// Progress of a mailing or an import: polls the page's JSON endpoint until it is done.
(function () {
  "use strict";
  var block = document.querySelector(".progress-block[data-progress-url]");
  if (!block) return;
  var bar = document.getElementById("progress-bar");
  var text = document.getElementById("progress-text");
  var finished = { done: true, failed: true };

  function poll() {
    fetch(block.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (p) {
        bar.value = p.percent;
        bar.textContent = p.percent + "%";
        text.textContent = p.text;
        if (finished[p.status]) {
          block.classList.add("is-done");
          // An import that finished while the page was open: show its error table (and,
          // after a dry run, what can follow it).
          var reload = p.failed || block.dataset.dryRun === "yes";
          if (block.dataset.kind === "import" && reload && block.dataset.initial !== "done") {
            window.location.reload();
          }
        } else {
          window.setTimeout(poll, 2000);
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
