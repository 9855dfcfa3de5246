/* Weixi console, campaign live dashboard: draws the budget burn (planned against spent per budget line) with
   ECharts from the JSON in the plot's data-burn attribute, and again each time htmx swaps in fresh figures.
   No inline scripts (the pages' Content-Security-Policy forbids them). */
(function () {
  "use strict";
  var palette = ["#8a8f98", "#e8833a"];

  function draw(root) {
    if (typeof echarts === "undefined") { return; }
    (root || document).querySelectorAll(".plot[data-burn]").forEach(function (el) {
      var data = JSON.parse(el.getAttribute("data-burn"));
      var chart = echarts.getInstanceByDom(el) || echarts.init(el, null, {renderer: "canvas"});
      chart.setOption({
        color: palette,
        title: {text: data.title, left: 0, textStyle: {fontSize: 14}},
        tooltip: {trigger: "axis"},
        legend: {top: 24},
        grid: {left: 80, right: 30, top: 64, bottom: 30},
        xAxis: {type: "category", data: data.lines},
        yAxis: {type: "value"},
        series: [{name: data.planned_name, type: "bar", data: data.planned.map(Number)},
                 {name: data.actual_name, type: "bar", data: data.actual.map(Number)}]
      });
      el.setAttribute("data-drawn", "1");
    });
    document.documentElement.setAttribute("data-charts", "ready");
  }

  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
  window.addEventListener("resize", function () {
    document.querySelectorAll(".plot[data-burn]").forEach(function (el) {
      var chart = typeof echarts !== "undefined" && echarts.getInstanceByDom(el);
      if (chart) { chart.resize(); }
    });
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { draw(); });
  } else {
    draw();
  }
})();
