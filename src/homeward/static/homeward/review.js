// Review queue keys: A same person, R different persons, D decide later, N next pair. Not while typing a note.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable)) return;
    var element = document.querySelector('[data-key="' + event.key.toLowerCase() + '"]');
    if (!element) return;
    event.preventDefault();
    element.click();
  });
})();
