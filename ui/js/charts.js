import { h } from './dom.js';

/**
 * A small time-series chart (uPlot) that takes points as they come and redraws at most once per
 * frame, however many arrive in a replay.
 */
export function timeChart(parent, title, series) {
  const box = h('figure', { class: 'chart' }, h('figcaption', { text: title }));
  parent.append(box);
  const data = [[], ...series.map(() => [])];
  const width = () => Math.max(240, Math.floor(box.clientWidth || 320));
  let plot;
  const make = () => {
    if (plot || !window.uPlot) return;
    plot = new window.uPlot(
      {
        width: width(),
        height: 150,
        legend: { show: series.length > 1 },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: false } }))],
        axes: [{}, { size: 56 }],
      },
      data,
      box,
    );
  };
  let pending = false;
  const draw = () => {
    pending = false;
    make();
    plot?.setData(data);
  };
  const resize = () => plot?.setSize({ width: width(), height: 150 });
  window.addEventListener('resize', resize);
  return {
    push(t, values) {
      const xs = data[0];
      // A point replaces those at or after its time (a replayed event comes before a finished run's
      // end point), so the x values stay increasing.
      while (xs.length && xs[xs.length - 1] >= t) for (const column of data) column.pop();
      xs.push(t);
      values.forEach((v, i) => data[i + 1].push(v));
      if (!pending) {
        pending = true;
        requestAnimationFrame(draw);
      }
    },
    points: () => data[0].length,
    destroy() {
      window.removeEventListener('resize', resize);
      plot?.destroy();
    },
  };
}

/** Horizontal bars for a small histogram ({ label: count }), drawn with CSS. */
export function bars(counts, { label = (k) => k } = {}) {
  const entries = Object.entries(counts);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  return h('div', { class: 'bars' },
    entries.map(([k, n]) =>
      h('div', { class: 'bar-row', 'data-key': k },
        h('span', { class: 'bar-label', text: label(k) }),
        h('span', { class: 'bar' }, h('span', { class: 'bar-fill', style: `width:${(100 * n) / max}%` })),
        h('span', { class: 'bar-count num', text: n.toLocaleString('en-US') }),
      ),
    ),
  );
}
