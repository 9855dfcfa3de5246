/* Weixi console: bar charts of the incentive and retention pages. Each <div class="wx-plot" data-src="URL"
   data-key="KEY"> draws data[KEY] = {title, labels, series: [{name, values}], horizontal?} from the JSON at
   URL with ECharts. No inline scripts (the pages' Content-Security-Policy forbids them). */
(function () {
  "use strict";
  var cache = {};
  var palette = ["#2f6fdf", "#e8833a", "#3aa17e", "#8a8f98", "#c0504d", "#7b61c9", "#d4a72c"];

  function load(url) {
    if (!cache[url]) {
      cache[url] = fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { if (!r.ok) { throw new Error(url + ": " + r.status); } return r.json(); });
    }
    return cache[url];
  }

  function option(c) {
    var category = {type: "category", data: c.labels, axisLabel: {interval: 0, rotate: c.horizontal ? 0 : 30}};
    var value = {type: "value"};
    return {
      color: palette,
      title: {text: c.title, left: 0, textStyle: {fontSize: 14}},
      tooltip: {trigger: "axis"},
      legend: {top: 24},
      grid: {left: c.horizontal ? 160 : 60, right: 24, top: 64, bottom: c.horizontal ? 30 : 70},
      xAxis: c.horizontal ? value : category,
      yAxis: c.horizontal ? Object.assign({}, category, {inverse: true}) : value,
      series: c.series.map(function (s) { return {name: s.name, type: "bar", data: s.values}; })
    };
  }

  function draw() {
    var plots = document.querySelectorAll(".wx-plot[data-src][data-key]");
    if (!plots.length || typeof echarts === "undefined") { return; }
    var charts = [];
    var pending = [];
    plots.forEach(function (el) {
      pending.push(load(el.getAttribute("data-src")).then(function (data) {
        var c = data[el.getAttribute("data-key")];
        if (!c || !c.labels.length) { el.parentNode.hidden = true; return; }
        var chart = echarts.init(el, null, {renderer: "canvas"});
        chart.setOption(option(c));
        charts.push(chart);
        el.setAttribute("data-drawn", "1");
      }));
    });
    Promise.all(pending).then(function () {
      document.documentElement.setAttribute("data-wx-charts", "ready");
    }, function (err) {
      document.documentElement.setAttribute("data-wx-charts", "failed");
      if (window.console) { console.error(err); }
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
