// Live updates for the queue and an open case page: asks the server every few seconds what changed
// since the page was drawn and who else has the case open, and says so on the page (aria-live), with
// a link to reload. It never redraws the page itself: an advisor half way through a form keeps it.
// Without JavaScript the page still refuses an action on a case that changed under it.
"use strict";
(function () {
  var box = document.getElementById("live");
  if (!box || !window.fetch) { return; }
  var every = Number(box.getAttribute("data-every") || 5) * 1000;
  var viewers = document.getElementById("viewers");
  var changes = document.getElementById("changes");

  function say(node, words, reload) {
    node.textContent = words;
    if (reload) {
      var link = document.createElement("a");
      link.href = window.location.pathname + window.location.search;
      link.textContent = "Reload to see it";
      node.appendChild(document.createTextNode(" "));
      node.appendChild(link);
    }
    node.hidden = !words;
  }

  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  function show(news) {
    if (viewers && news.viewers) {
      say(viewers, news.viewers.length ? "Also open now: " + news.viewers.join(", ") + "." : "", false);
    }
    if (news.changes && news.changes.length) {
      var lines = news.changes.map(function (c) { return c.who + ": " + c.what + ", " + c.at; });
      say(changes, "Changed since you opened this page: " + lines.join("; ") + ".", true);
    } else if (typeof news.messages === "number" && (news.messages || news.cases)) {
      var parts = [];
      if (news.messages) { parts.push(plural(news.messages, "new message", "new messages")); }
      if (news.cases) { parts.push(plural(news.cases, "case changed by others", "cases changed by others")); }
      say(changes, parts.join(" and ") + " since this page was drawn.", true);
    }
  }

  function ask() {
    window.fetch(box.getAttribute("data-url"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (news) { if (news) { show(news); } })
      .catch(function () { /* the next turn asks again */ })
      .then(function () { window.setTimeout(ask, every); });
  }
  window.setTimeout(ask, every);
}());
