// Shared chart building blocks: a time-series option with units on the axis and tooltip.
export function timeSeries({ title, unit, fmt, series, stack = false, zoom = false, markLines = [], range = null }) {
  return {
    animation: false,
    title: { text: title, left: 0, top: 0, textStyle: { fontSize: 13, fontWeight: 600 } },
    tooltip: { trigger: 'axis', valueFormatter: (v) => (v === null || v === undefined ? '–' : fmt(v)) },
    legend: { top: 0, right: 0, type: 'scroll', width: '60%' },
    grid: { left: 70, right: 20, top: 36, bottom: zoom ? 60 : 30 },
    xAxis: { type: 'time', min: range ? Date.parse(range.from) : undefined, max: range ? Date.parse(range.to) : undefined },
    yAxis: { type: 'value', name: unit, nameTextStyle: { align: 'right' }, axisLabel: { formatter: (v) => fmt(v) }, min: 0 },
    dataZoom: zoom ? [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 8 }] : [],
    series: series.map((s, i) => ({
      type: s.type ?? 'line', name: s.name, data: s.data, showSymbol: s.data.length < 40, connectNulls: false,
      stack: stack && !s.noStack ? 'total' : undefined, areaStyle: stack && !s.noStack ? { opacity: 0.6 } : undefined,
      lineStyle: s.dashed ? { type: 'dashed', width: 2 } : undefined, itemStyle: s.color ? { color: s.color } : undefined,
      markLine: i === 0 && markLines.length ? { symbol: 'none', silent: true, data: markLines } : undefined,
      barMaxWidth: 18,
    })),
  };
}

export const point = (t, v) => [t, v === undefined ? null : v];
