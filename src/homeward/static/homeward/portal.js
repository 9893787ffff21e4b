// The registration pages work without this file. With it (and htmx), each page sent answers with the next page
// in place; focus then moves to the new page as a page load would move it: to the summary of problems when the
// page has one, else to the main content, so that a screen reader reads the new page from its start.
document.addEventListener("htmx:afterSettle", function () {
  var target = document.querySelector(".error-summary") || document.getElementById("main");
  if (target) {
    target.focus();
    window.scrollTo(0, 0);
  }
});
