/* Weixi console: draws the dashboard's ECharts charts from the JSON the page names in data-src.
   No inline scripts (the pages send a Content-Security-Policy without 'unsafe-inline'). */
(function () {
  "use strict";
  var cache = {};

  function load(url) {
    if (!cache[url]) {
      cache[url] = fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { if (!r.ok) { throw new Error(url + ": " + r.status); } return r.json(); });
    }
    return cache[url];
  }

  var palette = ["#2f6fdf", "#e8833a", "#8a8f98", "#3aa17e", "#c0504d", "#7b61c9", "#d4a72c"];

  function axisChart(title, months, series, extra) {
    return Object.assign({
      color: palette,
      title: {text: title, left: 0, textStyle: {fontSize: 14}},
      tooltip: {trigger: "axis"},
      legend: {top: 24},
      grid: {left: 60, right: 60, top: 64, bottom: 30},
      xAxis: {type: "category", data: months},
      yAxis: {type: "value"},
      series: series
    }, extra || {});
  }

  function option(kind, el, data) {
    if (kind === "points") {
      var p = data.points;
      return axisChart(p.title, p.months, p.series.map(function (s) {
        return {name: s.name, type: "bar", data: s.values};
      }));
    }
    if (kind === "liability") {
      var l = data.liability;
      return axisChart(l.title, l.months, [
        {name: l.points_name, type: "bar", data: l.points, barMaxWidth: 48},
        {name: l.yuan_name, type: "line", yAxisIndex: 1, data: l.yuan}
      ], {yAxis: [{type: "value", name: l.points_name}, {type: "value", name: l.yuan_name}]});
    }
    if (kind === "segment") {
      var key = el.getAttribute("data-key");
      var seg = (data.segments || []).filter(function (s) { return s.key === key; })[0];
      if (!seg) { return null; }
      return {
        color: palette,
        title: {text: seg.title, left: 0, textStyle: {fontSize: 14}},
        tooltip: {trigger: "item"},
        series: [{type: "pie", radius: ["35%", "65%"], top: 24,
                  data: seg.labels.map(function (name, i) { return {name: name, value: seg.values[i]}; })}]
      };
    }
    return null;
  }

  function draw() {
    var plots = document.querySelectorAll(".plot[data-chart]");
    if (!plots.length || typeof echarts === "undefined") { return; }
    var pending = [];
    var charts = [];
    plots.forEach(function (el) {
      pending.push(load(el.getAttribute("data-src")).then(function (data) {
        var opt = option(el.getAttribute("data-chart"), el, data);
        if (!opt) { el.parentNode.hidden = true; return; }
        var chart = echarts.init(el, null, {renderer: "canvas"});
        chart.setOption(opt);
        charts.push(chart);
        el.setAttribute("data-drawn", "1");
      }));
    });
    Promise.all(pending).then(function () {
      document.documentElement.setAttribute("data-charts", "ready");
    }, function (err) {
      document.documentElement.setAttribute("data-charts", "failed");
      if (window.console) { console.error(err); }
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
