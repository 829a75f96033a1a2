// The dashboard's own script: confirmations of actions, the charts (Chart.js, when the
// front-end packages are built) and relative times kept current. No inline scripts.
(function () {
  "use strict";

  // Forms with data-confirm ask before they are sent.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  function chartOf(canvas) {
    if (!window.Chart || canvas.dataset.drawn) return;
    canvas.dataset.drawn = "1";
    var series = JSON.parse(canvas.dataset.series);
    if (canvas.dataset.chart === "stacked") {
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: series.labels,
          datasets: series.datasets.map(function (s) {
            return { label: s.label, data: s.data, backgroundColor: s.color };
          }),
        },
        options: {
          animation: false, maintainAspectRatio: false,
          scales: { x: { stacked: true, ticks: { maxTicksLimit: 12 } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        },
      });
    } else if (canvas.dataset.chart === "durations") {
      var colours = { success: "#2e7d32", failed: "#c62828", timeout: "#ef6c00" };
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: series.labels,
          datasets: [{
            label: "duration (s)", data: series.durations,
            backgroundColor: series.statuses.map(function (s) { return colours[s] || "#757575"; }),
          }],
        },
        options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } },
          scales: { y: { beginAtZero: true, title: { display: true, text: "seconds" } } } },
      });
    }
  }

  function drawCharts() {
    document.querySelectorAll("canvas[data-chart]").forEach(chartOf);
  }

  // Relative times ("3 min ago") age while the page is open.
  function ago(ms) {
    var s = Math.round(ms / 1000), size = Math.abs(s);
    if (size < 5) return "just now";
    var units = [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]];
    for (var i = 0; i < units.length; i++) {
      if (size >= units[i][1]) {
        var n = Math.floor(size / units[i][1]);
        return s > 0 ? "in " + n + " " + units[i][0] : n + " " + units[i][0] + " ago";
      }
    }
    return "just now";
  }
  function refreshTimes() {
    var now = Date.now();
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.closest(".fires")) return; // fire lists show wall-clock times
      var at = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(at)) el.textContent = ago(at - now);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    window.setInterval(refreshTimes, 15000);
  });
  document.addEventListener("htmx:afterSettle", drawCharts);
})();
