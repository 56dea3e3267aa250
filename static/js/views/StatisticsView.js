// The farm's utilisation over time: how many Workers were busy, and each Worker's share.
import { ref, computed, onMounted, onBeforeUnmount, nextTick } from 'vue';
import * as api from '../lib/api.js';
import { drawChart, duration } from '../lib/charts.js';

const PERIODS = [
  { key: '1h', label: 'Last hour', seconds: 3600 },
  { key: '24h', label: 'Last 24 hours', seconds: 24 * 3600 },
  { key: '7d', label: 'Last 7 days', seconds: 7 * 24 * 3600 },
];
const REFRESH_MS = 60_000;
// Each Worker gets a line of its own up to this many; beyond, only the farm's total.
const MAX_WORKER_LINES = 12;
const COLOURS = ['#ef4444', '#10b981', '#8b5cf6', '#f59e0b', '#06b6d4', '#ec4899', '#84cc16', '#6366f1', '#14b8a6', '#f97316', '#a855f7', '#22c55e'];

export default {
  name: 'StatisticsView',
  setup() {
    const period = ref('24h');
    const utilisation = ref(null);
    const error = ref('');
    const chartElement = ref(null);
    let chart = null;
    let timer = 0;

    async function load() {
      const seconds = PERIODS.find((p) => p.key === period.value).seconds;
      const until = new Date();
      const since = new Date(until.getTime() - seconds * 1000);
      try {
        utilisation.value = await api.fetchFarmUtilisation(since.toISOString(), until.toISOString());
        error.value = '';
      } catch (failure) {
        error.value = failure.message;
      }
      await nextTick();
      redraw();
    }

    function redraw() {
      chart?.destroy();
      chart = null;
      const found = utilisation.value;
      if (!found || !chartElement.value) return;
      const times = found.bucket_starts.map((start) => Date.parse(start) / 1000);
      const workers = found.workers.length <= MAX_WORKER_LINES ? found.workers : [];
      const series = [
        {},
        { label: 'Busy Workers', stroke: '#3b82f6', fill: 'rgba(59, 130, 246, 0.15)', width: 2, value: (u, v) => (v === null ? '–' : v.toFixed(2)) },
        ...workers.map((worker, index) => ({
          label: worker.worker_name || worker.worker_id,
          stroke: COLOURS[index % COLOURS.length],
          width: 1,
          value: (u, v) => (v === null ? '–' : `${Math.round(v * 100)} %`),
          scale: 'share',
        })),
      ];
      const data = [
        times,
        found.busy_workers,
        ...workers.map((worker) => worker.busy_seconds.map((busy) => busy / found.bucket_seconds)),
      ];
      chart = drawChart(
        chartElement.value,
        {
          height: 260,
          scales: { y: { range: (u, min, max) => [0, Math.max(1, Math.ceil(max))] }, share: { range: [0, 1] } },
          axes: [
            {},
            { label: 'Busy Workers' },
            ...(workers.length ? [{ label: 'Share of the time', scale: 'share', side: 1, grid: { show: false }, values: (u, values) => values.map((v) => `${Math.round(v * 100)} %`) }] : []),
          ],
          series,
        },
        data,
      );
    }

    function choose(key) {
      period.value = key;
      load();
    }

    onMounted(() => {
      load();
      timer = setInterval(load, REFRESH_MS);
    });
    onBeforeUnmount(() => {
      clearInterval(timer);
      chart?.destroy();
    });

    const workers = computed(() => (utilisation.value?.workers || []).slice().sort((a, b) => b.busy_fraction - a.busy_fraction));
    const csvUrl = computed(() => {
      const found = utilisation.value;
      if (!found) return '';
      return api.statisticsCsvUrl(`farm/utilisation?since=${encodeURIComponent(found.since)}&until=${encodeURIComponent(found.until)}`);
    });
    return { PERIODS, period, utilisation, error, chartElement, workers, csvUrl, choose, duration };
  },
  template: `<div class="statistics-view" data-testid="farm-statistics">
    <h1 class="view-title">Farm utilisation</h1>
    <div class="period-choice" role="group" aria-label="Period">
      <button v-for="choice in PERIODS" :key="choice.key" type="button" :aria-pressed="period === choice.key ? 'true' : 'false'" @click="choose(choice.key)">{{ choice.label }}</button>
    </div>
    <p v-if="error" class="error-text" role="alert">Cannot load the farm's utilisation: {{ error }}</p>
    <div ref="chartElement" class="utilisation-chart" data-testid="utilisation-chart" role="img" aria-label="Busy Workers over time"></div>
    <template v-if="utilisation">
      <p v-if="!workers.length" class="hint">No Worker ran a task in this period.</p>
      <table v-else class="plain-table" data-testid="worker-utilisation">
        <thead><tr><th scope="col">Worker</th><th scope="col">Busy</th><th scope="col">Time on tasks</th></tr></thead>
        <tbody>
          <tr v-for="worker in workers" :key="worker.worker_id">
            <td>{{ worker.worker_name || worker.worker_id }}</td>
            <td>{{ Math.round(worker.busy_fraction * 100) }} %</td>
            <td>{{ duration(worker.busy_seconds.reduce((a, b) => a + b, 0)) }}</td>
          </tr>
        </tbody>
      </table>
      <p class="statistics-downloads"><a :href="csvUrl" download>Download as CSV</a></p>
    </template>
  </div>`,
};
