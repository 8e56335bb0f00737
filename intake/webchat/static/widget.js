// Embed: <script src="https://HOUSING-SITE/chat/static/widget.js" defer></script>
// Adds a "Message us" button that opens the chat in a frame; no third-party code.
(function () {
  "use strict";
  var origin = new URL(document.currentScript.src).origin;
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = "Message us";
  button.setAttribute("aria-expanded", "false");
  button.style.cssText = "position:fixed;right:1rem;bottom:1rem;font:1.1rem sans-serif;padding:.75rem 1rem;" +
    "background:#1d4f91;color:#fff;border:0;border-radius:.25rem;z-index:2147483647";
  var frame = null;
  button.addEventListener("click", function () {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.src = origin + "/chat?embed=1";
      frame.title = "Message your landlord";
      frame.style.cssText = "position:fixed;right:1rem;bottom:4.5rem;width:min(26rem,95vw);height:min(36rem,80vh);" +
        "border:2px solid #0b0c0c;background:#fff;z-index:2147483647";
      document.body.appendChild(frame);
    } else {
      frame.hidden = !frame.hidden;
    }
    button.setAttribute("aria-expanded", String(!frame.hidden));
    if (!frame.hidden) { frame.focus(); }
  });
  document.body.appendChild(button);
})();
