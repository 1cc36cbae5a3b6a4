/* Polls a job's status (jobs:status) and updates its progress page; without JS the page refreshes itself. */
(function () {
  "use strict";
  var card = document.querySelector("[data-job-status-url]");
  if (!card || card.getAttribute("data-job-finished") === "1") { return; }
  var url = card.getAttribute("data-job-status-url");
  var delay = 700;

  function field(name) { return card.querySelector('[data-job-field="' + name + '"]'); }
  function setText(name, value) { var el = field(name); if (el) { el.textContent = value; } }

  function render(state) {
    setText("status_label", state.status_label);
    setText("stage", state.stage || "");
    setText("done", state.done);
    setText("total", state.total || "—");
    setText("percent", state.percent);
    var tag = field("status_label");
    if (tag) { tag.className = "gv-tag gv-job__status gv-job__status--" + state.status; }
    var bar = card.querySelector(".gv-progress__bar");
    if (bar) {
      bar.style.width = state.percent + "%";
      bar.className = "gv-progress__bar gv-progress__bar--" + state.status;
      bar.parentNode.setAttribute("aria-valuenow", state.percent);
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (state) {
        render(state);
        if (state.finished) {
          // The finished page lists failed rows and the result link: load it once.
          window.location.reload();
          return;
        }
        delay = Math.min(delay * 1.3, 5000);
        window.setTimeout(poll, delay);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, delay);
}());
