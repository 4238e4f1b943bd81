// Filters and sorting of the findings table; nothing is fetched.
(function () {
  "use strict";
  var table = document.getElementById("findings");
  var rows = table ? Array.prototype.slice.call(table.querySelectorAll("tr.finding")) : [];
  var ids = ["filter-kind", "filter-severity", "filter-rule"];
  function apply() {
    var want = ids.map(function (id) { var e = document.getElementById(id); return e ? e.value : ""; });
    var hostEl = document.getElementById("filter-host");
    var host = hostEl ? hostEl.value.trim().toLowerCase() : "";
    var shown = 0;
    rows.forEach(function (r) {
      var ok = (!want[0] || r.dataset.kind === want[0]) &&
        (!want[1] || r.dataset.severity === want[1]) &&
        (!want[2] || r.dataset.rule === want[2]) &&
        (!host || (r.dataset.src || "").toLowerCase().indexOf(host) >= 0 ||
          (r.dataset.dst || "").toLowerCase().indexOf(host) >= 0);
      r.classList.toggle("hidden", !ok);
      if (ok) { shown += 1; }
    });
    var count = document.getElementById("findings-shown");
    if (count) { count.textContent = String(shown); }
  }
  ids.concat(["filter-host"]).forEach(function (id) {
    var e = document.getElementById(id);
    if (e) { e.addEventListener("input", apply); e.addEventListener("change", apply); }
  });
  if (table) {
    Array.prototype.forEach.call(table.querySelectorAll("th[data-sort]"), function (th, col) {
      var up = true;
      th.addEventListener("click", function () {
        var body = table.tBodies[0];
        var sorted = rows.slice().sort(function (a, b) {
          var x = a.cells[col].dataset.value || a.cells[col].textContent;
          var y = b.cells[col].dataset.value || b.cells[col].textContent;
          var nx = Number(x), ny = Number(y);
          var c = (!isNaN(nx) && !isNaN(ny) && x !== "" && y !== "") ? nx - ny : x.localeCompare(y);
          return up ? c : -c;
        });
        up = !up;
        sorted.forEach(function (r) { body.appendChild(r); });
      });
    });
  }
  apply();
  document.body.setAttribute("data-ready", "1");
})();
