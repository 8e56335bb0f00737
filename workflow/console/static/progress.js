// Reloads the retraining page every few seconds while a candidate is being trained. A script, not
// <meta http-equiv="refresh">: a timed refresh the reader cannot turn off fails WCAG 2.2.1 (axe-core
// found it). Without JavaScript the page's own link checks the progress.
"use strict";
window.setTimeout(function () { window.location.replace(window.location.pathname); }, 3000);
