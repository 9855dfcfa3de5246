/* Weixi console: the analyst's charts (dashboard, churn risk, churn model, target lists). Each
   <div class="wx-chart" data-src="URL" data-key="KEY" data-kind="KIND"> draws data[KEY] from the JSON at URL with
   ECharts (a dotted KEY reads a nested object: "by_key.by_tier"). Every chart labels its values and keeps one unit per axis (a second unit gets its own axis); a chart
   whose data carries "links" opens the member list behind a bar or slice when it is clicked.
   No inline scripts (the pages' Content-Security-Policy forbids them). */
(function () {
  "use strict";
  var cache = {};
  var palette = ["#1677ff", "#fa8c16", "#52c41a", "#8c8c8c", "#f5222d", "#722ed1", "#faad14", "#13c2c2"];

  function load(url) {
    if (!cache[url]) {
      cache[url] = fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { if (!r.ok) { throw new Error(url + ": " + r.status); } return r.json(); });
    }
    return cache[url];
  }

  function fmt(v) {
    if (typeof v !== "number") { return v; }
    return v.toLocaleString(document.documentElement.lang || undefined);
  }

  function title(c) {
    return {text: c.title, subtext: c.hint || "", left: 0, textStyle: {fontSize: 14}, subtextStyle: {fontSize: 12}};
  }

  function bar(c) {
    var horizontal = !!c.horizontal;
    var category = {type: "category", data: c.labels, name: horizontal ? "" : (c.x_name || ""),
                    nameLocation: "middle", nameGap: 48,
                    axisLabel: {interval: 0, rotate: horizontal || c.labels.length < 7 ? 0 : 30}};
    var value = {type: "value", name: horizontal ? (c.x_name || "") : (c.y_name || ""),
                 nameLocation: horizontal ? "middle" : "end", nameGap: horizontal ? 28 : 12};
    var many = c.series.length > 1;
    return {
      color: palette,
      title: title(c),
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}, renderMode: "richText"},
      legend: many ? {top: c.hint ? 46 : 30} : {show: false},
      grid: {left: horizontal ? 170 : 64, right: 48, top: c.hint ? (many ? 100 : 92) : many ? 84 : 60, bottom: horizontal ? 48 : 72,
             containLabel: false},
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? Object.assign({}, category, {inverse: true}) : value,
      series: c.series.map(function (s) {
        return {name: s.name, type: "bar", data: s.values, barMaxWidth: 40,
                label: {show: true, position: horizontal ? "right" : "top", formatter: function (p) { return fmt(p.value); }},
                cursor: c.links ? "pointer" : "default"};
      })
    };
  }

  function pie(c) {
    return {
      color: palette,
      title: title(c),
      tooltip: {trigger: "item", formatter: "{b}: {c} ({d}%)", renderMode: "richText"},
      series: [{type: "pie", radius: ["30%", "60%"], top: c.hint ? 44 : 24, cursor: c.links ? "pointer" : "default",
                label: {formatter: function (p) { return p.name + "\n" + fmt(p.value) + " (" + p.percent + "%)"; }},
                data: c.labels.map(function (name, i) { return {name: name, value: c.values[i]}; })}]
    };
  }

  function calibration(c) {
    var top = 0;
    c.points.forEach(function (p) { top = Math.max(top, p[0], p[1]); });
    top = Math.min(100, Math.ceil((top * 1.1 + 1) / 5) * 5);
    var shown = [];  // label a point only when it stands apart from every labelled one (no pile at the origin)
    var points = c.points.map(function (p) {
      var apart = shown.every(function (q) { return Math.abs(p[0] - q[0]) + Math.abs(p[1] - q[1]) > top / 10; });
      if (apart) { shown.push(p); }
      return {value: p, label: {show: apart}};
    });
    return {
      color: ["#f5222d", "#8c8c8c"],
      title: title(c),
      tooltip: {trigger: "item", renderMode: "richText", formatter: function (p) {
        if (!p.value || p.value.length < 3) { return p.seriesName; }
        return c.x_name + ": " + p.value[0] + "%\n" + c.y_name + ": " + p.value[1] + "%\n" + c.rows_name + ": " + fmt(p.value[2]);
      }},
      legend: {top: 30},
      grid: {left: 64, right: 32, top: 92, bottom: 56},
      xAxis: {type: "value", min: 0, max: top, name: c.x_name, nameLocation: "middle", nameGap: 32},
      yAxis: {type: "value", min: 0, max: top, name: c.y_name, nameLocation: "end", nameTextStyle: {align: "left"}},
      series: [
        {name: c.points_name, type: "line", data: points, symbolSize: 8,
         label: {formatter: function (p) { return p.value[1] + "%"; }}},
        {name: c.diagonal_name, type: "line", data: [[0, 0], [top, top]], symbol: "none",
         lineStyle: {type: "dashed"}}
      ]
    };
  }

  function lift(c) {
    return {
      color: ["#52c41a", "#722ed1"],
      title: title(c),
      tooltip: {trigger: "axis", renderMode: "richText"},
      legend: {top: 30},
      grid: {left: 64, right: 64, top: 112, bottom: 56},
      xAxis: {type: "category", data: c.labels, name: c.x_name, nameLocation: "middle", nameGap: 32},
      yAxis: [{type: "value", name: c.lift_name, nameLocation: "end", nameGap: 30, nameTextStyle: {align: "left"}},
              {type: "value", name: c.capture_name, nameLocation: "end", nameGap: 30, min: 0, max: 100,
               nameTextStyle: {align: "right"},
               axisLabel: {formatter: "{value}%"}}],
      series: [
        {name: c.lift_name, type: "bar", data: c.lift, barMaxWidth: 36, label: {show: true, position: "top"}},
        {name: c.capture_name, type: "line", yAxisIndex: 1, data: c.capture, labelLayout: {hideOverlap: true},
         label: {show: true, position: "top", formatter: "{c}%"}}
      ]
    };
  }

  /* Tooltips are drawn on the canvas (renderMode "richText"): an HTML tooltip would set inline styles, which the
     pages' Content-Security-Policy refuses. */
  var kinds = {bar: bar, pie: pie, calibration: calibration, lift: lift};

  function draw() {
    var plots = document.querySelectorAll(".wx-chart[data-src][data-key]");
    if (!plots.length || typeof echarts === "undefined") { return; }
    var charts = [];
    var pending = [];
    plots.forEach(function (el) {
      pending.push(load(el.getAttribute("data-src")).then(function (data) {
        var c = el.getAttribute("data-key").split(".").reduce(function (o, k) { return o ? o[k] : o; }, data);
        var empty = !c || (c.labels && !c.labels.length) || (c.points && !c.points.length);
        if (empty) { el.parentNode.hidden = true; return; }
        var chart = echarts.init(el, null, {renderer: "canvas"});
        // no entry animation: the figures are there as soon as the page says its charts are ready
        chart.setOption(Object.assign({animation: false}, (kinds[el.getAttribute("data-kind")] || bar)(c)));
        if (c.links) {
          chart.on("click", function (p) {
            var href = c.links[p.dataIndex];
            if (href) { window.location.assign(href); }
          });
        }
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

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
