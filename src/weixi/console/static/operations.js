/* Weixi console: the team view's charts. Each <div class="ops-plot" data-src="URL" data-key="KEY"> draws
   data[KEY] = {title, labels, series: [{name, values}], stacked?} from the JSON at URL with ECharts; the
   "compliance" chart also draws the plan's target (data.target, percent) as a line. No inline scripts (CSP). */
(function () {
  "use strict";
  var cache = {};
  var palette = ["#3aa17e", "#e8833a", "#c0504d", "#8a8f98", "#2f6fdf", "#7b61c9"];

  function load(url) {
    if (!cache[url]) {
      cache[url] = fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { if (!r.ok) { throw new Error(url + ": " + r.status); } return r.json(); });
    }
    return cache[url];
  }

  function option(c, target) {
    var series = c.series.map(function (s) {
      var one = {name: s.name, type: "bar", data: s.values};
      if (c.stacked) { one.stack = "all"; }
      return one;
    });
    if (target !== null && target !== undefined && series.length === 1 && !c.stacked) {
      series[0].markLine = {symbol: "none", data: [{yAxis: target, name: c.target_name}],
                            label: {formatter: c.target_name + " " + target + "%"}};
    }
    return {
      color: c.stacked ? palette : ["#2f6fdf"],
      title: {text: c.title, left: 0, textStyle: {fontSize: 14}},
      tooltip: {trigger: "axis"},
      legend: {top: 24},
      grid: {left: 50, right: 24, top: 64, bottom: 70},
      xAxis: {type: "category", data: c.labels, axisLabel: {interval: 0, rotate: 30}},
      yAxis: {type: "value", max: c.stacked ? null : 100},
      series: series
    };
  }

  function draw() {
    var plots = document.querySelectorAll(".ops-plot[data-src][data-key]");
    if (!plots.length || typeof echarts === "undefined") { return; }
    var charts = [];
    var pending = [];
    plots.forEach(function (el) {
      pending.push(load(el.getAttribute("data-src")).then(function (data) {
        var key = el.getAttribute("data-key");
        var c = data[key];
        if (!c || !c.labels.length) { el.parentNode.hidden = true; return; }
        var chart = echarts.init(el, null, {renderer: "canvas"});
        chart.setOption(option(c, key === "compliance" ? data.target : null));
        charts.push(chart);
        el.setAttribute("data-drawn", "1");
      }));
    });
    Promise.all(pending).then(function () {
      document.documentElement.setAttribute("data-ops-charts", "ready");
    }, function (err) {
      document.documentElement.setAttribute("data-ops-charts", "failed");
      if (window.console) { console.error(err); }
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
