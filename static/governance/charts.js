/* Download a server-drawn SVG chart as PNG: draw it on a canvas at twice its size, save the canvas.
   Each chart sits in an element with data-chart-name; its button has data-png-download. */
(function () {
  "use strict";

  function savePng(holder) {
    var svg = holder.querySelector("svg");
    if (!svg) { return; }
    var width = svg.viewBox.baseVal.width || svg.clientWidth;
    var height = svg.viewBox.baseVal.height || svg.clientHeight;
    var copy = svg.cloneNode(true);
    copy.setAttribute("width", width);
    copy.setAttribute("height", height);
    var text = new XMLSerializer().serializeToString(copy);
    var url = URL.createObjectURL(new Blob([text], {type: "image/svg+xml;charset=utf-8"}));
    var image = new Image();
    image.onload = function () {
      var scale = 2;
      var canvas = document.createElement("canvas");
      canvas.width = width * scale;
      canvas.height = height * scale;
      var context = canvas.getContext("2d");
      context.fillStyle = "#ffffff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.scale(scale, scale);
      context.drawImage(image, 0, 0, width, height);
      URL.revokeObjectURL(url);
      canvas.toBlob(function (blob) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = (holder.getAttribute("data-chart-name") || "图表") + ".png";
        document.body.appendChild(link);
        link.click();
        setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
      }, "image/png");
    };
    image.onerror = function () { URL.revokeObjectURL(url); alert("生成 PNG 失败，请改用“下载 SVG”。"); };
    image.src = url;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-png-download]");
    if (!button) { return; }
    var holder = button.closest("[data-chart-holder]") || button.closest(".gv-figure, .gv-flow");
    var chart = holder && holder.querySelector("[data-chart-name]");
    if (chart) { savePng(chart); }
  });
})();
