/* Phone page helpers: fill latitude/longitude from the browser's location, preview chosen photos,
   disable a form's button after the first submission, scroll to the part that has an error. */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-locate]");
    if (!button) { return; }
    var status = document.getElementById(button.getAttribute("data-status"));
    if (!navigator.geolocation) { status.textContent = "此设备不支持定位，请手工填写。"; return; }
    status.textContent = "正在定位…";
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(function (position) {
      document.getElementById(button.getAttribute("data-latitude")).value = position.coords.latitude.toFixed(6);
      document.getElementById(button.getAttribute("data-longitude")).value = position.coords.longitude.toFixed(6);
      status.textContent = "已定位（精度约 " + Math.round(position.coords.accuracy) + " 米）";
      button.disabled = false;
    }, function (error) {
      status.textContent = error.code === 1 ? "未允许定位，请在浏览器设置中允许，或手工填写。" : "定位失败，请到开阔处重试或手工填写。";
      button.disabled = false;
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  });

  document.addEventListener("change", function (event) {
    var input = event.target;
    var target = input.getAttribute && document.getElementById(input.getAttribute("data-preview"));
    if (!target || !input.files) { return; }
    target.innerHTML = "";
    Array.prototype.forEach.call(input.files, function (file) {
      if (!/^image\//.test(file.type)) { return; }
      var image = document.createElement("img");
      image.alt = file.name;
      image.src = URL.createObjectURL(file);
      target.appendChild(image);
    });
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-once-submit")) { return; }
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; button.textContent = "正在提交…"; }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var focus = document.querySelector("[data-focus]");
    if (focus) {
      var part = document.getElementById(focus.getAttribute("data-focus"));
      if (part) { part.scrollIntoView(); }
    }
  });
})();
