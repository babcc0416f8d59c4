// Live updates: ask the portal which block it reflects; when a new block was indexed, fetch
// this same page and swap in its main content and "as of" line. The page works fully
// without this script; it runs no inline code and inserts no script (CSP: script-src 'self').
(function () {
  "use strict";
  var body = document.body;
  var every = parseInt(body.getAttribute("data-poll-ms") || "5000", 10);
  var shown = body.getAttribute("data-block") || "";
  var busy = false;

  function swap(html, block) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    ["main", "asof"].forEach(function (id) {
      var now = document.getElementById(id);
      var next = fresh.getElementById(id);
      if (!now || !next) { return; }
      var focused = document.activeElement && now.contains(document.activeElement)
        ? document.activeElement.id : "";
      now.replaceWith(document.importNode(next, true));
      if (focused && document.getElementById(focused)) {
        document.getElementById(focused).focus();
      }
    });
    shown = block;
    body.setAttribute("data-block", block);
    var live = document.getElementById("live");
    if (live) { live.textContent = "Updated to block " + block + "."; }
  }

  function poll() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch("/api/status", { cache: "no-store" })
      .then(function (answer) { return answer.json(); })
      .then(function (status) {
        var block = status.block === null ? "" : String(status.block);
        if (block === shown) { return null; }
        return fetch(window.location.href, { cache: "no-store" })
          .then(function (answer) { return answer.ok ? answer.text() : null; })
          .then(function (html) { if (html !== null) { swap(html, block); } });
      })
      .catch(function () { /* offline for a moment: try again at the next tick */ })
      .then(function () { busy = false; });
  }

  if (every > 0) { window.setInterval(poll, every); }
})();
