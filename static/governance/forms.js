// Small behaviours of the site's forms, served as a static file: the Content-Security-Policy allows
// scripts from this origin only (no inline scripts, no inline event handlers). Runs on every page
// load and every Turbo visit; each element is bound once.
(function () {
  function once(element, key) {
    if (element.dataset[key]) return false;
    element.dataset[key] = "1";
    return true;
  }

  // <form data-busy-label="正在保存…">: the submit button is disabled once the form is sent.
  document.querySelectorAll("form[data-busy-label]").forEach(function (form) {
    if (!once(form, "busyBound")) return;
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; button.textContent = form.dataset.busyLabel; }
    });
  });

  // <form data-confirm="确定…？">: asks before sending.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    if (!once(form, "confirmBound")) return;
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); event.stopImmediatePropagation(); }
    });
  });

  // The event report: fill latitude and longitude from the phone's location.
  var locate = document.getElementById("locate");
  if (locate && once(locate, "locateBound")) {
    locate.addEventListener("click", function () {
      var status = document.getElementById("locate-status");
      if (!navigator.geolocation) { status.textContent = "此设备不支持定位，请手工填写。"; return; }
      status.textContent = "正在定位…";
      navigator.geolocation.getCurrentPosition(function (pos) {
        document.getElementById("id_latitude").value = pos.coords.latitude.toFixed(6);
        document.getElementById("id_longitude").value = pos.coords.longitude.toFixed(6);
        status.textContent = "已定位（精度约 " + Math.round(pos.coords.accuracy) + " 米）";
      }, function () { status.textContent = "定位失败，请手工填写。"; }, {enableHighAccuracy: true, timeout: 10000});
    });
  }

  // The patrol form: show only the events of the chosen grid (the server checks it again on save).
  var eventRegionsData = document.getElementById("patrol-event-regions");
  var select = document.getElementById("id_region");
  if (eventRegionsData && select && once(select, "patrolBound")) {
    var eventRegions = JSON.parse(eventRegionsData.textContent);
    var regionPaths = JSON.parse(document.getElementById("patrol-region-paths").textContent);
    var filterEvents = function () {
      var path = regionPaths[select.value] || "";
      document.querySelectorAll("input[name=events]").forEach(function (box) {
        var inside = !path || (eventRegions[box.value] || "").indexOf(path) === 0;
        var row = box.closest("div") || box.parentNode;
        row.style.display = inside || box.checked ? "" : "none";
      });
    };
    select.addEventListener("change", filterEvents);
    filterEvents();
  }

  // <select data-level-of="id_target">: offer only the options whose data-level is the chosen target's
  // level or "both" (the working papers' focus categories; the server checks it again on save).
  document.querySelectorAll("select[data-level-of]").forEach(function (choice) {
    var source = document.getElementById(choice.dataset.levelOf);
    if (!source || !once(choice, "levelBound")) return;
    var narrow = function () {
      var picked = source.options[source.selectedIndex];
      var level = picked ? picked.dataset.level : "";
      Array.prototype.forEach.call(choice.options, function (option) {
        var fits = !level || !option.dataset.level || option.dataset.level === "both" || option.dataset.level === level;
        option.hidden = !fits;
        option.disabled = !fits;
        if (!fits && option.selected) choice.value = "";
      });
    };
    source.addEventListener("change", narrow);
    narrow();
  });
})();
