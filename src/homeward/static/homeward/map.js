// Draws the settlement map from the data attributes of #map; works without a tile server.
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("map");
  if (!box || typeof L === "undefined") { return; }
  var lat = parseFloat(box.dataset.lat), lon = parseFloat(box.dataset.lon);
  var map = L.map(box, { scrollWheelZoom: false }).setView([lat, lon], box.dataset.tiles ? 12 : 9);
  if (box.dataset.tiles) {
    L.tileLayer(box.dataset.tiles, { maxZoom: 18 }).addTo(map);
  }
  var outline = document.getElementById("outline");
  if (outline) {
    try {
      var shape = L.geoJSON(JSON.parse(outline.textContent), { style: { color: "#0b5394", weight: 2 } }).addTo(map);
      map.fitBounds(shape.getBounds(), { maxZoom: 14 });
    } catch (e) { /* a damaged outline must not hide the place itself */ }
  }
  var label = document.createElement("span");
  label.textContent = box.dataset.title;  // text, never markup
  L.circleMarker([lat, lon], { radius: 8, color: "#0b5394", weight: 3 }).addTo(map).bindTooltip(label);
});
