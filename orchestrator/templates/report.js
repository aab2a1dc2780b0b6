(function () {
  "use strict";
  var PAGE = 200;
  var body = document.querySelector("#rows > tbody");
  var rows = Array.prototype.filter.call(body.children, function (r) { return !r.classList.contains("doc-row"); });
  var query = document.getElementById("filter");
  var status = document.getElementById("status-filter");
  var info = document.getElementById("pager-info");
  var prev = document.getElementById("prev");
  var next = document.getElementById("next");
  var page = 0;
  function detail(row) {
    var n = row.nextElementSibling;
    return n && n.classList.contains("doc-row") ? n : null;
  }
  function matches(row) {
    var text = query.value.toLowerCase();
    var wanted = status.value;
    return (!wanted || row.getAttribute("data-status") === wanted) &&
      (!text || row.textContent.toLowerCase().indexOf(text) !== -1);
  }
  function show() {
    var hits = rows.filter(matches);
    var pages = Math.max(1, Math.ceil(hits.length / PAGE));
    page = Math.min(page, pages - 1);
    rows.forEach(function (row) {
      row.hidden = true;
      var d = detail(row);
      if (d) { d.hidden = true; }
    });
    hits.slice(page * PAGE, (page + 1) * PAGE).forEach(function (row) {
      row.hidden = false;
      var d = detail(row);
      if (d) { d.hidden = false; }
    });
    info.textContent = hits.length + " of " + rows.length + " rows" + (pages > 1 ? ", page " + (page + 1) + " of " + pages : "");
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }
  query.addEventListener("input", function () { page = 0; show(); });
  status.addEventListener("change", function () { page = 0; show(); });
  prev.addEventListener("click", function () { page -= 1; show(); });
  next.addEventListener("click", function () { page += 1; show(); });
  show();
})();
