// The report form lists the extra fields of every category; show only those of the chosen category.
(function () {
  var select = document.getElementById("id_category");
  if (!select) return;
  function update() {
    document.querySelectorAll("[data-attribute-of]").forEach(function (input) {
      var field = input.closest(".gv-field");
      if (field) field.style.display = input.getAttribute("data-attribute-of") === select.value ? "" : "none";
    });
  }
  select.addEventListener("change", update);
  update();
})();
