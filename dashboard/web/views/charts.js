// Shared chart building blocks: a time-series option with units on the axis and tooltip.
export function timeSeries({ title, unit, fmt, series, stack = false, zoom = false, markLines = [], range = null, integer = false }) {
  return {
    animation: false,
    title: { text: title, left: 0, top: 0, textStyle: { fontSize: 13, fontWeight: 600 } },
    tooltip: { trigger: 'axis', valueFormatter: (v) => (v === null || v === undefined ? '–' : fmt(v)) },
    legend: { top: 20, left: 0, type: 'scroll', width: '95%', textStyle: { fontSize: 11 } },
    grid: { left: 70, right: 24, top: 72, bottom: zoom ? 60 : 30 },
    xAxis: { type: 'time', min: range ? Date.parse(range.from) : undefined, max: range ? Date.parse(range.to) : undefined },
    yAxis: { type: 'value', name: unit, nameTextStyle: { align: 'right' }, axisLabel: { formatter: (v) => fmt(v) }, min: 0, minInterval: integer ? 1 : undefined },
    dataZoom: zoom ? [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 8 }] : [],
    series: series.map((s, i) => ({
      type: s.type ?? 'line', name: s.name, data: s.data, showSymbol: s.data.filter((p) => p[1] !== null && p[1] !== 0).length < 40, connectNulls: false,
      symbolSize: (v) => (v && v[1] ? 6 : 0), // mark the buckets with data, not the zero-filled ones
      stack: stack && !s.noStack ? 'total' : undefined, areaStyle: stack && !s.noStack ? { opacity: 0.6 } : undefined,
      lineStyle: s.dashed ? { type: 'dashed', width: 2 } : undefined, itemStyle: s.color ? { color: s.color } : undefined,
      markLine: i === 0 && markLines.length ? { symbol: 'none', silent: true, data: markLines } : undefined,
      barMaxWidth: 18,
    })),
  };
}

export const point = (t, v) => [t, v === undefined ? null : v];

/**
 * One point per bucket of [from, to): the API returns only buckets with data. `empty` is what a
 * bucket without rows means: 0 for counts and bytes (nothing happened), null for RTTs (no sample,
 * drawn as a gap instead of a line across hours).
 */
export function filled(range, stepSeconds, rows, value, empty) {
  const at = new Map(rows.map((r) => [Date.parse(r.t), r]));
  const out = [];
  for (let t = Date.parse(range.from); t < Date.parse(range.to); t += stepSeconds * 1000) {
    const r = at.get(t);
    const v = r ? value(r) : empty;
    out.push([t, v === undefined ? null : v]);
  }
  return out;
}
