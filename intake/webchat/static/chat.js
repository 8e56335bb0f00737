// Convenience only: every action also works as a plain form post without this script.
// It sends without reloading and shows replies as they arrive; text is inserted with
// textContent, never as HTML.
(function () {
  "use strict";
  var list = document.getElementById("conversation");
  var form = document.getElementById("send");
  if (!list || !form || !window.fetch) { return; }
  var lastId = parseInt(list.getAttribute("data-last-id") || "0", 10);
  var box = document.getElementById("message");
  var choices = document.getElementById("choices");
  var landlord = document.title.replace(/^Message /, "");

  function csrf() { return form.querySelector("input[name=csrf]").value; }
  function nonce() { return Math.random().toString(36).slice(2) + Date.now().toString(36); }

  function addLine(line) {
    var empty = list.querySelector(".empty");
    if (empty) { empty.remove(); }
    var item = document.createElement("li");
    item.className = "line " + (line.from_resident ? "resident" : "landlord");
    item.setAttribute("data-id", line.id);
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = line.from_resident ? "You" : landlord;
    var text = document.createElement("div");
    text.className = "text";
    text.textContent = line.text;
    item.appendChild(who);
    item.appendChild(text);
    list.appendChild(item);
    lastId = Math.max(lastId, line.id);
    showChoices(line.from_resident ? [] : line.options);
  }

  function showChoices(options) {
    choices.textContent = "";
    if (!options || !options.length) { return; }
    var set = document.createElement("fieldset");
    var legend = document.createElement("legend");
    legend.textContent = "Choose one";
    set.appendChild(legend);
    options.forEach(function (option) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = option.label;
      button.addEventListener("click", function () { send(option.value); });
      set.appendChild(button);
    });
    choices.appendChild(set);
  }

  function poll() {
    fetch("/chat/messages?after=" + lastId, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) { data.lines.forEach(addLine); })
      .catch(function () {});
  }

  function send(text) {
    var body = new URLSearchParams({ text: text, csrf: csrf(), nonce: nonce() });
    return fetch("/chat", { method: "POST", body: body, credentials: "same-origin",
                            headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (result) {
        var old = document.getElementById("error");
        if (old) { old.remove(); }
        if (!result.ok) {
          var error = document.createElement("p");
          error.id = "error"; error.className = "error"; error.setAttribute("role", "alert");
          error.textContent = result.data.error;
          form.insertBefore(error, form.firstChild);
          return false;
        }
        poll();
        return true;
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = box.value.trim();
    if (!text) { box.focus(); return; }
    send(text).then(function (ok) { if (ok) { box.value = ""; box.focus(); } });
  });
  setInterval(poll, 2000);
})();
