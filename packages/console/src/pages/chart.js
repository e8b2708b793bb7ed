import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { html } from '../html.js';

const palette = ['#2b4fb3', '#1b7f3b', '#a56a00', '#b3261e', '#6b3fa0', '#00796b', '#5b6478'];

/**
 * A uPlot line chart of several series over time. `times` are unix seconds; `series` is
 * `[{ label, values }]`, `null` where a value is unknown (no requests in that interval).
 */
export function Chart({ title, times, series, unit }) {
  const target = useRef(null);
  const plot = useRef(null);
  const labels = series.map((item) => item.label).join('|');
  useEffect(() => {
    const options = {
      title,
      width: 520,
      height: 200,
      series: [
        {},
        ...series.map((item, index) => ({
          label: item.label,
          stroke: palette[index % palette.length],
          width: 2,
          spanGaps: false,
          value: (_plot, value) => (value == null ? '–' : `${value.toFixed(unit === '%' ? 1 : 2)} ${unit}`),
        })),
      ],
      axes: [
        {},
        { size: 60, values: (_plot, ticks) => ticks.map((tick) => `${tick}${unit === '%' ? '%' : ''}`) },
      ],
      // The last ten minutes, however few readings there are yet.
      scales: { x: { time: true, range: (_plot, _min, max) => [max - 600, max + 5] } },
    };
    plot.current = new uPlot(options, [times, ...series.map((item) => item.values)], target.current);
    return () => plot.current?.destroy();
    // A new set of series needs a new chart; new values only a new data set (below).
  }, [labels]);
  useEffect(() => {
    plot.current?.setData([times, ...series.map((item) => item.values)]);
  }, [times, series]);
  return html`<div class="chart" data-chart=${title} ref=${target}></div>`;
}
