// Runs in the browser, inlined into report.html after uPlot. Reads the model from #report-data and draws the
// charts. No network access: everything it needs is in the page.
(function () {
  'use strict';
  var model = JSON.parse(document.getElementById('report-data').textContent);
  var COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f'];
  var BAND_FILL = 'rgba(255, 0, 0, 0.12)';
  var BAND_EDGE = 'rgba(200, 0, 0, 0.6)';
  var charts = [];
  window.__report = { model: model, charts: charts, bandFill: BAND_FILL };

  var faults = model.faults.filter(function (f) { return f.inject !== null; });
  var xmin = model.x.length ? model.x[0] : null;
  var xmax = model.x.length ? model.x[model.x.length - 1] : null;
  faults.forEach(function (f) {
    var end = f.heal !== null ? f.heal : f.inject;
    if (xmin === null || f.inject < xmin) xmin = Math.floor(f.inject);
    if (xmax === null || end > xmax) xmax = Math.ceil(end);
  });
  if (xmin !== null && xmin === xmax) xmax = xmin + 1;

  function fmtTime(s) {
    var d = new Date(s * 1000);
    return d.toISOString().slice(11, 19);
  }

  function fmtMs(s) {
    return new Date(s * 1000).toISOString().slice(11, 23);
  }
  function secs(v) {
    return v === null || v === undefined ? '-' : (+v.toFixed(1)) + ' s';
  }
  // The band's label: the fault, its inject and heal times, and the measured failover and recovery times.
  function bandLabel(f) {
    return [
      f.label,
      fmtMs(f.inject) + ' - ' + (f.heal !== null ? fmtMs(f.heal) : 'not healed'),
      'failover ' + secs(f.failoverS) + ', recovery ' + secs(f.recoveryS),
    ];
  }

  function fit(ctx, text, max) {
    if (ctx.measureText(text).width <= max) return text;
    for (var n = text.length - 1; n > 0; n--) {
      var t = text.slice(0, n) + '\u2026';
      if (ctx.measureText(t).width <= max) return t;
    }
    return '';
  }

  // Shaded fault bands under the series, with the fault's label on top.
  function bandsPlugin() {
    return {
      hooks: {
        drawAxes: [function (u) {
          var ctx = u.ctx;
          ctx.save();
          faults.forEach(function (f) {
            var end = f.heal !== null ? f.heal : u.scales.x.max;
            var x0 = u.valToPos(f.inject, 'x', true);
            var x1 = u.valToPos(end, 'x', true);
            ctx.fillStyle = BAND_FILL;
            ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
            ctx.strokeStyle = BAND_EDGE;
            ctx.lineWidth = 1;
            ctx.beginPath();
            ctx.moveTo(x0, u.bbox.top);
            ctx.lineTo(x0, u.bbox.top + u.bbox.height);
            if (f.heal !== null) {
              ctx.moveTo(x1, u.bbox.top);
              ctx.lineTo(x1, u.bbox.top + u.bbox.height);
            }
            ctx.stroke();
          });
          ctx.restore();
        }],
        draw: [function (u) {
          var ctx = u.ctx;
          ctx.save();
          var px = Math.round(11 * devicePixelRatio);
          ctx.fillStyle = '#8b0000';
          ctx.font = px + 'px sans-serif';
          ctx.textAlign = 'left';
          ctx.textBaseline = 'top';
          var starts = faults.map(function (f) { return u.valToPos(f.inject, 'x', true); });
          faults.forEach(function (f, k) {
            var x0 = starts[k];
            // Room up to the next band that starts later, or the plot's right edge; lines cut to fit with an ellipsis.
            var room = u.bbox.left + u.bbox.width - x0;
            starts.forEach(function (x) { if (x > x0 && x - x0 < room) room = x - x0; });
            bandLabel(f).forEach(function (line, i) {
              var text = fit(ctx, line, room - 8);
              if (text) ctx.fillText(text, x0 + 4, u.bbox.top + 2 + i * (px + 2));
            });
          });
          ctx.restore();
        }],
      },
    };
  }

  function width(el) {
    return Math.max(280, Math.min(1200, el.clientWidth || 900));
  }

  function makeChart(el, def, xs, opts) {
    var series = [{ label: 'time', value: function (u, v) { return v === null ? '-' : fmtTime(v); } }];
    def.series.forEach(function (s, i) {
      var sd = {
        label: s.label,
        stroke: COLORS[i % COLORS.length],
        width: 1.5,
        spanGaps: false,
        value: function (u, v) { return v === null || v === undefined ? '-' : (+v.toFixed(3)) + ' ' + def.unit; },
      };
      if (opts && opts.stepped) sd.paths = uPlot.paths.stepped({ align: 1 });
      series.push(sd);
    });
    var u = new uPlot({
      width: width(el),
      height: (opts && opts.height) || 220,
      series: series,
      scales: {
        x: { time: true, range: function () { return [xmin, xmax]; } },
        y: opts && opts.yRange ? { range: opts.yRange } : def.unit === '%' ? { range: function (u, lo, hi) { return [0, Math.max(hi === null ? 0 : hi * 1.1, def.id === 'ws-fanout' ? 105 : 1)]; } } : {},
      },
      axes: [
        { values: function (u, splits) { return splits.map(fmtTime); }, space: 70 },
        { label: def.unit, size: (opts && opts.ySize) || 60, values: opts && opts.yValues, splits: opts && opts.ySplits },
      ],
      cursor: { sync: { key: 'run' } },
      plugins: [bandsPlugin()],
    }, [xs].concat(def.series.map(function (s) { return s.data; })), el);
    charts.push({ id: def.id, u: u });
    return u;
  }

  var root = document.getElementById('charts');
  if (xmin === null) {
    root.textContent = 'No data points in the raw output.';
  } else {
    // Latency per endpoint group: two charts a row, after the first of them.
    var grid = null;
    model.charts.forEach(function (def) {
      var box = document.createElement('section');
      box.className = 'chart';
      box.id = 'chart-' + def.id;
      var h = document.createElement('h3');
      h.textContent = def.title + ' (' + def.unit + ')';
      box.appendChild(h);
      if (def.id.indexOf('latency-') === 0) {
        if (!grid) {
          grid = document.createElement('div');
          grid.className = 'grid';
          root.appendChild(grid);
        }
        grid.appendChild(box);
      } else {
        root.appendChild(box);
      }
      makeChart(box, def, model.x);
    });
    if (model.readiness) {
      var box = document.createElement('section');
      box.className = 'chart';
      box.id = 'chart-readiness';
      var h = document.createElement('h3');
      h.textContent = 'Node readiness (from drill.json)';
      box.appendChild(h);
      root.appendChild(box);
      var def = {
        id: 'readiness',
        title: 'Node readiness',
        unit: '',
        series: model.readiness.nodes.map(function (n, i) {
          return { label: n.node, data: n.data.map(function (v) { return v === null ? null : v + 2 * i; }) };
        }),
      };
      var n = model.readiness.nodes.length;
      makeChart(box, def, model.readiness.x, {
        stepped: true,
        height: 80 + 40 * n,
        ySize: 110,
        yRange: [-0.5, 2 * n - 0.5],
        ySplits: function () {
          var out = [];
          for (var v = 0; v < 2 * n; v++) out.push(v);
          return out;
        },
        yValues: function (u, splits) {
          return splits.map(function (v) {
            var i = Math.floor(v / 2);
            var node = model.readiness.nodes[i];
            if (!node || (v !== 2 * i && v !== 2 * i + 1)) return '';
            return node.node + (v === 2 * i + 1 ? ' up' : ' down');
          });
        },
      });
    }
  }

  window.addEventListener('resize', function () {
    charts.forEach(function (c) { c.u.setSize({ width: width(c.u.root.parentNode), height: c.u.height }); });
  });
  document.body.setAttribute('data-charts-ready', String(charts.length));
})();
