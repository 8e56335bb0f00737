// Keyboard shortcuts for the queue and a case page, listed in the help dialog ("?"). A key is only
// taken when the advisor is not typing: never in a text box, list or button with focus for typing,
// and never with Ctrl, Alt or Cmd, so the browser's and the screen reader's own keys still work.
"use strict";
(function () {
  var help = document.getElementById("keys-help");
  var opener = document.getElementById("keys-open");
  if (!help) { return; }
  if (opener) {
    opener.hidden = false;
    opener.addEventListener("click", function () { help.showModal(); });
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-case]"));
  var STORE = "triage-queue";
  if (rows.length) {  // the order a case page's j and k follow
    try {
      window.sessionStorage.setItem(STORE, JSON.stringify(rows.map(function (r) { return r.getAttribute("data-case"); })));
    } catch (ignored) { /* private browsing: the case page just has no next */ }
  }
  var current = -1;

  function typing(target) {
    var name = target && target.tagName ? target.tagName.toLowerCase() : "";
    return name === "input" || name === "textarea" || name === "select" || (target && target.isContentEditable);
  }

  function mark(index) {
    if (!rows.length) { return; }
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (row, i) { row.classList.toggle("current", i === current); });
    var link = rows[current].querySelector("a");
    if (link) { link.focus(); }
  }

  function shortcut(name, scope) {
    return (scope || document).querySelector('[data-shortcut="' + name + '"]');
  }

  function use(element) {
    if (!element) { return; }
    if (element.tagName.toLowerCase() === "button") { element.click(); } else { element.focus(); }
  }

  function neighbour(step) {
    var order = [];
    try { order = JSON.parse(window.sessionStorage.getItem(STORE) || "[]"); } catch (ignored) { order = []; }
    var here = window.location.pathname.split("/").pop();
    var at = order.indexOf(here);
    if (at >= 0 && order[at + step]) { window.location.assign("/console/cases/" + order[at + step]); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) { return; }
    var key = event.key;
    if (help.open) {  // the dialog has its own keys (Escape closes it); ? closes it too
      if (key === "?") { help.close(); event.preventDefault(); }
      return;
    }
    var row = rows.length && current >= 0 ? rows[current] : null;
    var handled = true;
    if (key === "?") { help.showModal(); }
    else if (key === "j") { if (rows.length) { mark(current + 1); } else { neighbour(1); } }
    else if (key === "k") { if (rows.length) { mark(current - 1); } else { neighbour(-1); } }
    else if (key === "o" && row) { row.querySelector("a").click(); }
    else if (key === "x" && row) { row.querySelector('input[type="checkbox"]').click(); }
    else if (key === "c") { use(row ? shortcut("confirm", row) : (rows.length ? null : shortcut("confirm"))); }
    else if (key === "e" && row) { window.location.assign(row.querySelector("a").getAttribute("href") + "#review-heading"); }
    else if (key === "e") { use(shortcut("correct")); }
    else if (key === "r") { use(shortcut("reply")); }
    else if (key === "n") { use(shortcut("note")); }
    else if (key === "a") { use(shortcut("assign")); }
    else { handled = false; }
    if (handled) { event.preventDefault(); }
  });
}());
