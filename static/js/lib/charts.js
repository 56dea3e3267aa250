// Charts with uPlot: sized to their container, redrawn when it changes size.
import uPlot from 'uplot';

const AXIS_TEXT = '#9aa1ad';
const GRID = '#2c3139';

/** Durations as people read them: "0.4 s", "12 s", "3 min 20 s", "2 h 5 min". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 120) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * Draw a uPlot chart into `element`, as wide as the element; returns { update(data), destroy() }.
 * `options` are uPlot's, less the width.
 */
export function drawChart(element, options, data) {
  const width = () => Math.max(200, element.clientWidth || 600);
  // Canvas text cannot use the stylesheet's variables: the dark theme's colours, as values.
  const axes = (options.axes || []).map((axis) => ({
    stroke: AXIS_TEXT,
    ticks: { stroke: GRID },
    ...axis,
    grid: { stroke: GRID, width: 1, ...(axis.grid || {}) },
  }));
  const chart = new uPlot({ ...options, axes, width: width() }, data, element);
  const observer = new ResizeObserver(() => chart.setSize({ width: width(), height: options.height }));
  observer.observe(element);
  return {
    update(newData) {
      chart.setData(newData);
    },
    destroy() {
      observer.disconnect();
      chart.destroy();
    },
  };
}
