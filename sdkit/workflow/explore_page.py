"""The explorer page: HTML, CSS and the interface's JavaScript (no model text).

:func:`sdkit.workflow.explore.build_explorer` fills three slots: the model's
JavaScript (:mod:`sdkit.engine.jsgen`, generated names and numbers only), the
runtime it calls, and the page's JSON data (names, units, documentation,
ranges, scenarios, observed data) inside ``<script type="application/json">``.
The interface reads text from that JSON and puts it into the page with
``textContent`` and attributes only, so a model's names are never markup or code.

URL fragment: ``#v=<index>:<value>,...`` (parameters that differ from the
model's own values) makes a state shareable; ``dump=1`` writes the current
and baseline runs into ``<pre id="sdkit-dump">``; ``bench=<n>`` times ``n``
slider moves (recompute plus redraw) into ``<pre id="sdkit-bench">``.
"""

from __future__ import annotations

__all__ = ["PAGE"]

_STYLE = """
body { font-family: "sdkit CJK Sans", system-ui, sans-serif; margin: 0; color: #222; }
header { padding: 8px 16px; background: #f3f5f8; border-bottom: 1px solid #ccd; }
h1 { font-size: 18px; margin: 4px 0; }
#sdkit-status { color: #a00; font-size: 13px; min-height: 1em; }
main { display: flex; align-items: flex-start; }
#sdkit-controls { width: 320px; padding: 8px 16px; font-size: 13px; flex: none; }
#sdkit-controls label { display: block; margin-top: 8px; }
#sdkit-controls input[type=range] { width: 100%; }
.sdkit-value { float: right; font-variant-numeric: tabular-nums; }
#sdkit-charts { display: flex; flex-wrap: wrap; gap: 8px; padding: 8px; }
.sdkit-chart { border: 1px solid #dde; background: #fff; }
.sdkit-chart text { font-size: 11px; fill: #333; }
.sdkit-legend { font-size: 12px; padding: 4px 16px; color: #555; }
"""

_APP = r"""
(function () {
  "use strict";
  var SPEC = JSON.parse(document.getElementById("sdkit-spec").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var P = SPEC.params;
  var defaults = P.map(function (p) { return p.value; });
  var start = scenarioValues(SPEC.start);
  var values = start.slice(), inputs = [], shows = [], charts = [];
  var baseline = null, current = null;
  var status = document.getElementById("sdkit-status");
  document.title = SPEC.title;
  document.getElementById("sdkit-title").textContent = SPEC.title;

  function slots(vals) {
    var out = SPEC.slots.map(function () { return null; });
    if (vals === null) { return out; }
    P.forEach(function (p, i) {
      if (out[p.slot] === null) { out[p.slot] = new Float64Array(SPEC.slots[p.slot]); }
      out[p.slot][p.elem] = vals[i];
    });
    return out;
  }
  function simulate(vals) { return MODEL(slots(vals)); }
  function el(tag, text) {
    var e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  function fmt(v) {
    var a = Math.abs(v);
    return a >= 1e5 || (a < 1e-3 && v !== 0) ? v.toExponential(3) : String(+v.toPrecision(5));
  }
  function scenarioValues(k) {
    var v = defaults.slice();
    if (k >= 0) { SPEC.scenarios[k].values.forEach(function (iv) { v[iv[0]] = iv[1]; }); }
    return v;
  }
  function applyScenario(k) { values = scenarioValues(k); }

  function buildControls() {
    var box = document.getElementById("sdkit-controls");
    if (SPEC.scenarios.length) {
      var sel = el("select");
      sel.id = "sdkit-scenario";
      var base = el("option", "Model values (baseline)");
      base.value = "-1";
      sel.appendChild(base);
      SPEC.scenarios.forEach(function (s, i) {
        var o = el("option", s.title || s.name);
        o.value = String(i);
        o.title = s.description;
        sel.appendChild(o);
      });
      var custom = el("option", "Custom");
      custom.value = "custom";
      custom.disabled = true;
      sel.appendChild(custom);
      sel.addEventListener("change", function () {
        applyScenario(+sel.value);
        sync();
        schedule();
      });
      var lab = el("label", "Scenario ");
      lab.appendChild(sel);
      box.appendChild(lab);
    }
    var reset = el("button", "Reset");
    reset.id = "sdkit-reset";
    reset.addEventListener("click", function () {
      values = start.slice();
      sync();
      schedule();
    });
    box.appendChild(reset);
    P.forEach(function (p, i) {
      var lab = el("label"), show = el("span"), inp = el("input");
      show.className = "sdkit-value";
      lab.title = (p.units ? "[" + p.units + "] " : "") + p.doc;
      inp.type = "range";
      inp.min = p.min;
      inp.max = p.max;
      inp.step = p.step;
      inp.addEventListener("input", function () {
        values[i] = +inp.value;
        sync();
        schedule();
      });
      lab.appendChild(el("span", p.name));
      lab.appendChild(show);
      lab.appendChild(inp);
      box.appendChild(lab);
      inputs.push(inp);
      shows.push(show);
    });
  }
  function preset() {  // the scenario the sliders are at, if any
    for (var k = -1; k < SPEC.scenarios.length; k++) {
      var v = scenarioValues(k);
      if (v.every(function (x, i) { return x === values[i]; })) { return String(k); }
    }
    return "custom";
  }
  function sync() {
    var sel = document.getElementById("sdkit-scenario");
    if (sel) { sel.value = preset(); }
    inputs.forEach(function (inp, i) {
      inp.value = values[i];
      shows[i].textContent = fmt(values[i]);
    });
  }

  function buildChart(box, o, oi, e, ei) {
    var W = 300, H = 190, s = svg("svg", {width: W, height: H, "class": "sdkit-chart"});
    var title = svg("text", {x: 6, y: 14}), tip = svg("title");
    title.textContent = o.name + (e ? "[" + e + "]" : "") + (o.units ? " (" + o.units + ")" : "");
    tip.textContent = o.doc;
    title.appendChild(tip);
    var c = {o: oi, e: ei, size: o.elements.length, W: W, H: H,
             hi: svg("text", {x: 4, y: 30}), lo: svg("text", {x: 4, y: H - 22}),
             t0: svg("text", {x: 40, y: H - 6}),
             t1: svg("text", {x: W - 4, y: H - 6, "text-anchor": "end"}),
             lb: svg("polyline", {fill: "none", stroke: "#999", "stroke-dasharray": "4 3",
                                  "stroke-width": 1.5}),
             lc: svg("polyline", {fill: "none", stroke: "#1f5fbf", "stroke-width": 2}),
             dots: svg("g", {fill: "#e07b00"}),
             data: SPEC.data.filter(function (d) { return d.output === oi && d.elem === ei; })};
    s.appendChild(svg("rect", {x: 40, y: 22, width: W - 48, height: H - 50, fill: "none",
                               stroke: "#ccd"}));
    [title, c.hi, c.lo, c.t0, c.t1, c.lb, c.lc, c.dots].forEach(function (x) { s.appendChild(x); });
    c.data.forEach(function (d) {
      d.times.forEach(function () { c.dots.appendChild(svg("circle", {r: 2.5})); });
    });
    box.appendChild(s);
    charts.push(c);
  }
  function buildCharts() {
    var box = document.getElementById("sdkit-charts");
    SPEC.outputs.forEach(function (o, oi) {
      o.elements.forEach(function (e, ei) { buildChart(box, o, oi, e, ei); });
    });
    var sources = {};
    SPEC.data.forEach(function (d) { sources[d.source] = true; });
    var names = Object.keys(sources);
    if (names.length) {
      document.getElementById("sdkit-sources").textContent = "Observed data: " + names.join("; ");
    }
  }
  function series(run, c) {
    var a = run.out[c.o], v = [];
    for (var k = c.e; k < a.length; k += c.size) { v.push(a[k]); }
    return v;
  }
  function drawChart(c, times) {
    var yc = series(current, c), yb = series(baseline, c), lo = Infinity, hi = -Infinity;
    function span(v) { if (isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }
    yc.forEach(span);
    yb.forEach(span);
    c.data.forEach(function (d) { d.values.forEach(span); });
    if (!(hi > lo)) { hi = (isFinite(hi) ? hi : 0) + 1; lo = hi - 2; }
    var ta = times[0], tspan = (times[times.length - 1] - ta) || 1;
    var x0 = 40, w = c.W - 48, y0 = 22, h = c.H - 50;
    function X(t) { return (x0 + (t - ta) / tspan * w).toFixed(1); }
    function Y(v) { return (y0 + (hi - v) / (hi - lo) * h).toFixed(1); }
    function pts(ys) {
      var s = [];
      for (var k = 0; k < ys.length; k++) {
        if (isFinite(ys[k])) { s.push(X(times[k]) + "," + Y(ys[k])); }
      }
      return s.join(" ");
    }
    c.lc.setAttribute("points", pts(yc));
    c.lb.setAttribute("points", pts(yb));
    c.hi.textContent = fmt(hi);
    c.lo.textContent = fmt(lo);
    c.t0.textContent = fmt(ta);
    c.t1.textContent = fmt(times[times.length - 1]);
    var k = 0;
    c.data.forEach(function (d) {
      d.times.forEach(function (t, j) {
        var dot = c.dots.childNodes[k++];
        dot.setAttribute("cx", X(t));
        dot.setAttribute("cy", Y(d.values[j]));
      });
    });
  }
  function fragment() {
    var parts = [];
    values.forEach(function (v, i) { if (v !== defaults[i]) { parts.push(i + ":" + v); } });
    return "v=" + parts.join(",");
  }
  function update() {
    try {
      current = simulate(values);
      status.textContent = "";
    } catch (err) {
      status.textContent = String(err.message);
      return;
    }
    charts.forEach(function (c) { drawChart(c, current.times); });
    clearTimeout(hashTimer);  // the URL follows once the slider rests
    hashTimer = setTimeout(function () {
      try { history.replaceState(null, "", "#" + fragment()); } catch (err) { /* file: URL */ }
    }, 300);
  }
  var hashTimer = null;
  var pending = false;
  function schedule() {  // one update per frame; a timer too, where frames stop (headless)
    if (pending) { return; }
    pending = true;
    function go() { if (pending) { pending = false; update(); } }
    requestAnimationFrame(go);
    setTimeout(go, 100);
  }
  function readHash() {
    var q = new URLSearchParams(location.hash.slice(1)), v = q.get("v");
    if (v !== null) {
      values = defaults.slice();
      v.split(",").forEach(function (kv) {
        var p = kv.split(":"), i = +p[0], x = +p[1];
        if (p.length === 2 && i >= 0 && i < P.length && isFinite(x)) { values[i] = x; }
      });
    }
    return q;
  }
  function plain(a) {
    return Array.prototype.map.call(a, function (v) { return isFinite(v) ? v : String(v); });
  }
  function bench(n) {
    var ms = [];
    document.body.getBoundingClientRect();  // the page's first layout is not a slider move
    for (var k = 0; k < n; k++) {
      var p = P[k % P.length];
      values[k % P.length] = p.min + (p.max - p.min) * ((k * 7919) % 101) / 100;
      var a = performance.now();
      update();
      document.body.getBoundingClientRect();
      ms.push(performance.now() - a);
    }
    var run = [];
    for (k = 0; k < n; k++) {
      var b = performance.now();
      simulate(values);
      run.push(performance.now() - b);
    }
    function by(x, y) { return x - y; }
    var first = ms[0];
    ms.sort(by);
    run.sort(by);
    var out = el("pre", JSON.stringify({n: n, median_ms: ms[n >> 1], max_ms: ms[n - 1],
                                        p95_ms: ms[Math.floor(n * 0.95)], first_ms: first,
                                        model_median_ms: run[n >> 1]}));
    out.id = "sdkit-bench";
    document.body.appendChild(out);
  }

  buildControls();
  buildCharts();
  var q = readHash();
  sync();
  try {
    baseline = simulate(null);
  } catch (err) {
    status.textContent = String(err.message);
    return;
  }
  update();
  if (q.get("bench")) { bench(+q.get("bench")); }
  if (q.get("dump")) {
    var d = {times: current.times, values: values, current: current.out.map(plain),
             baseline: baseline.out.map(plain)};
    var pre = el("pre", JSON.stringify(d));
    pre.id = "sdkit-dump";
    document.body.appendChild(pre);
  }
  window.addEventListener("hashchange", function () { readHash(); sync(); schedule(); });
})();
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline';
 font-src data:">
<title>sdkit explorer</title>
<style>""" + _STYLE + """</style>
</head>
<body>
<header><h1 id="sdkit-title"></h1><div id="sdkit-status"></div></header>
<div class="sdkit-legend">Solid blue: this run. Dashed grey: the model's own values
(baseline). Orange dots: observed data. <span id="sdkit-sources"></span></div>
<main><div id="sdkit-controls"></div><div id="sdkit-charts"></div></main>
<script type="application/json" id="sdkit-spec">@@SPEC@@</script>
<script>@@RUNTIME@@
var MODEL = @@MODEL@@(R);
</script>
<script>""" + _APP + """</script>
</body>
</html>
"""
