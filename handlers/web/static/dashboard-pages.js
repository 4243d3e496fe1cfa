/* The dashboard's 群发 progress (server-sent events) and 榜单 charts (vendored Chart.js).
   No inline script anywhere (CSP script-src 'self'): chart data comes from
   <script type="application/json"> blocks, the progress stream from the section's data-events. */
(function () {
  "use strict";

  function followProgress() {
    var box = document.getElementById("progress");
    if (!box || box.dataset.done === "true" || !window.EventSource) return;
    var source = new EventSource(box.dataset.events);
    function show(data, done) {
      ["sent", "failed", "blocked", "left", "total"].forEach(function (name) {
        var el = document.getElementById("count-" + name);
        if (el) el.textContent = String(data[name]);
      });
      var bar = document.getElementById("progress-bar");
      if (bar) {
        bar.max = data.total || 1;
        bar.value = data.total ? data.total - data.left : 1;
      }
      if (done) {
        var state = document.getElementById("progress-state");
        state.textContent = "已完成";
        state.className = "ok";
        var hint = document.getElementById("progress-hint");
        if (hint) hint.hidden = true;
        box.dataset.done = "true";
        source.close();
      }
    }
    source.addEventListener("progress", function (e) { show(JSON.parse(e.data), false); });
    source.addEventListener("done", function (e) { show(JSON.parse(e.data), true); });
  }

  var COLORS = ["#1f6fb2", "#e0912b", "#3c9a5f", "#8e5bb5", "#c2453d", "#4a9bb0"];

  function drawCharts() {
    if (!window.Chart) return;
    var canvases = document.querySelectorAll("canvas[data-chart]");
    Array.prototype.forEach.call(canvases, function (canvas) {
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      var spec = JSON.parse(source.textContent);
      var line = spec.kind === "line";
      var datasets = spec.series.map(function (s, i) {
        var color = COLORS[i % COLORS.length];
        return {
          label: s.label, data: s.data, backgroundColor: color, borderColor: color,
          borderWidth: line ? 2 : 0, tension: 0.2, fill: false
        };
      });
      var options = {
        responsive: true, maintainAspectRatio: false, animation: false,
        indexAxis: spec.horizontal ? "y" : "x",
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { stacked: !!spec.stacked, beginAtZero: true },
          y: { stacked: !!spec.stacked, beginAtZero: true }
        }
      };
      new window.Chart(canvas, { type: line ? "line" : "bar", data: { labels: spec.labels, datasets: datasets }, options: options });
    });
  }

  function start() { followProgress(); drawCharts(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
