"""The JavaScript runtime the generated models call (``R.*``).

Each helper mirrors :mod:`sdkit.engine.runtime` on one element: the same
formula in the same order of operations, so float64 results agree with the
Python engine to rounding. ``R.lookup`` follows ``numpy.interp``'s formula.
"""

from __future__ import annotations

__all__ = ["RUNTIME_JS"]

RUNTIME_JS = r"""
var R = (function () {
  "use strict";
  var SMALL = 1e-6;
  function xidz(a, b, x) { return Math.abs(b) < SMALL ? x : a / b; }
  function zidz(a, b) { return Math.abs(b) < SMALL ? 0 : a / b; }
  function modulo(x, m) { var q = m < SMALL ? x : m * Math.trunc(x / m); return x - q; }
  function step(t, dt, v, ts) { return v * ((t + dt / 2) > ts); }
  function ramp(t, slope, start, finish) {
    var fin = finish === undefined ? t : Math.min(finish, t);
    return ((t + SMALL) > start) * slope * (fin - start);
  }
  function pulse(t, dt, start, width, magnitude) {
    var w = width === undefined ? 0.5 * dt : width;
    var out = magnitude === undefined ? 1.0 : magnitude / dt;
    return (start - SMALL <= t && t < start + w) ? out : 0.0;
  }
  function pulse_train(t, dt, start, rep, width, end) {
    var inTrain = start <= t && t < end;
    var on = ((t - start + SMALL) % rep) < width;
    var single = start - SMALL <= t && t < start + width;
    return rep === 0 ? (single ? 1.0 : 0.0) : ((inTrain && on) ? 1.0 : 0.0);
  }
  function pulse_train_magnitude(t, dt, start, rep, magnitude) {
    var w = 0.5 * dt, out = magnitude / dt;
    var on = start <= t && ((t - start + SMALL) % rep) < w;
    var single = start - SMALL <= t && t < start + w;
    return rep === 0 ? (single ? out : 0.0) : (on ? out : 0.0);
  }
  function pymod(a, b) {  // Python's float %: the sign of the divisor
    var r = a % b;
    if (r !== 0 && ((r < 0) !== (b < 0))) { r += b; }
    return r;
  }
  function max(a, b) { return (a >= b || a !== a) ? a : b; }
  function min(a, b) { return (a <= b || a !== a) ? a : b; }
  function interp(x, xs, ys, off, stride) {
    var n = xs.length;
    if (x !== x) { return NaN; }
    if (x <= xs[0]) { return ys[off]; }
    if (x >= xs[n - 1]) { return ys[off + (n - 1) * stride]; }
    var lo = 0, hi = n - 1;
    while (hi - lo > 1) {
      var mid = (lo + hi) >> 1;
      if (xs[mid] <= x) { lo = mid; } else { hi = mid; }
    }
    var y0 = ys[off + lo * stride], y1 = ys[off + (lo + 1) * stride];
    var slope = (y1 - y0) / (xs[lo + 1] - xs[lo]);
    var r = slope * (x - xs[lo]) + y0;
    if (r !== r) { r = slope * (x - xs[lo + 1]) + y1; if (r !== r && y0 === y1) { r = y0; } }
    return r;
  }
  function lookupCol(x, xs, ys, off, stride, mode) {
    var n = xs.length;
    if (mode === 2) {
      if (x !== x) { return ys[off + (n - 1) * stride]; }
      var i = 0;
      while (i < n && xs[i] <= x) { i++; }
      i = Math.min(Math.max(i - 1, 0), n - 1);
      return ys[off + i * stride];
    }
    var out = interp(x, xs, ys, off, stride);
    if (mode === 1 && n > 1) {
      if (x < xs[0]) {
        return ys[off] + (ys[off + stride] - ys[off]) / (xs[1] - xs[0]) * (x - xs[0]);
      }
      if (x > xs[n - 1]) {
        var a = ys[off + (n - 1) * stride], b = ys[off + (n - 2) * stride];
        return a + (a - b) / (xs[n - 1] - xs[n - 2]) * (x - xs[n - 1]);
      }
    }
    return out;
  }
  function lookup(x, xs, ys, mode) { return lookupCol(x, xs, ys, 0, 1, mode); }
  // the generated code names its errors by number (it holds no text)
  var MESSAGES = ["INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER",
                  "time settings: TIME STEP and SAVEPER must be > 0, FINAL TIME >= INITIAL TIME",
                  "too many time steps (more than 5e6)", "a SMOOTH N / DELAY N order",
                  "a delay whose delay time is below TIME STEP"];
  function fail(code) { throw new Error(MESSAGES[code]); }
  function uniform(v, code) {
    if (typeof v === "number") { return v; }
    for (var i = 1; i < v.length; i++) {
      if (v[i] !== v[0]) { throw new Error(MESSAGES[code] + " differs between elements"); }
    }
    return v[0];
  }
  function minOf(v) {
    if (typeof v === "number") { return v; }
    var m = v[0];
    for (var i = 1; i < v.length; i++) { m = min(m, v[i]); }
    return m;
  }
  function delayOrder(order, dt, time) {
    var o = Math.trunc(order), m = minOf(time);
    while (o * dt > m) { o -= 1; }
    return o;
  }
  function roundEven(x) {
    var r = Math.round(x);
    if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) { r -= 1; }
    return r;
  }
  function fixedOrder(time, dt) {
    var n = typeof time === "number" ? 1 : time.length, o = null;
    for (var i = 0; i < n; i++) {
      var v = typeof time === "number" ? time : time[i];
      var k = roundEven(Math.max(v / dt, 1) + SMALL);
      if (o !== null && k !== o) {
        throw new Error("a DELAY FIXED delay time differs between elements");
      }
      o = k;
    }
    return o;
  }
  return {xidz: xidz, zidz: zidz, modulo: modulo, step: step, ramp: ramp, pulse: pulse,
          pulse_train: pulse_train, pulse_train_magnitude: pulse_train_magnitude,
          pymod: pymod, max: max, min: min, lookup: lookup, lookupCol: lookupCol, interp: interp,
          uniform: uniform, fail: fail, delayOrder: delayOrder, fixedOrder: fixedOrder};
})();
"""
