// A job's render statistics: estimated end, totals, a frame-time chart, the slowest frames.
import { ref, computed, watch, onMounted, onBeforeUnmount, nextTick } from 'vue';
import * as api from '../../lib/api.js';
import { throttle } from '../../lib/batcher.js';
import { bytes, absoluteTime, relativeTime } from '../../lib/format.js';
import { drawChart, duration } from '../../lib/charts.js';
import { onJobEvents } from '../../stores/jobs.js';

const MIB = 1024 * 1024;

export default {
  name: 'JobStatistics',
  props: { jobId: { type: String, required: true } },
  setup(props) {
    const stats = ref(null);
    const error = ref('');
    const chartElement = ref(null);
    let chart = null;
    let generation = 0;

    async function load() {
      const current = ++generation;
      try {
        const fetched = await api.fetchJobRenderStatistics(props.jobId);
        if (current !== generation) return;
        stats.value = fetched;
        error.value = '';
      } catch (failure) {
        if (current !== generation) return;
        stats.value = null;
        error.value = failure.status === 404 ? 'This job has no render statistics.' : failure.message;
      }
      await nextTick();
      redraw();
    }

    function chartData() {
      const frames = (stats.value?.frames || []).filter((frame) => frame.frame !== null);
      return [
        frames.map((frame) => frame.frame),
        frames.map((frame) => frame.render_seconds),
        frames.map((frame) => (frame.peak_memory_bytes === null ? null : frame.peak_memory_bytes / MIB)),
      ];
    }

    function redraw() {
      const data = chartData();
      if (!chartElement.value || !data[0].length) {
        chart?.destroy();
        chart = null;
        return;
      }
      if (chart) {
        chart.update(data);
        return;
      }
      chart = drawChart(
        chartElement.value,
        {
          height: 180,
          scales: { x: { time: false } },
          axes: [
            { label: 'Frame' },
            { label: 'Render time (s)', scale: 's' },
            { label: 'Peak memory (MiB)', scale: 'mem', side: 1, grid: { show: false } },
          ],
          series: [
            { label: 'Frame' },
            // Points, not lines: a frame rendered again (its task requeued) has two.
            { label: 'Render time', scale: 's', stroke: '#3b82f6', fill: '#3b82f6', paths: () => null, points: { show: true, size: 7 }, value: (u, v) => (v === null ? '–' : `${v.toFixed(2)} s`) },
            { label: 'Peak memory', scale: 'mem', stroke: '#f59e0b', paths: () => null, points: { show: true, size: 5 }, value: (u, v) => (v === null ? '–' : `${v.toFixed(1)} MiB`) },
          ],
        },
        data,
      );
    }

    const refreshSoon = throttle(load, 2000);
    watch(() => props.jobId, () => {
      chart?.destroy();
      chart = null;
      stats.value = null;
      load();
    });
    onMounted(load);
    const stopJobEvents = onJobEvents((events) => {
      if (events.some((event) => event.id === props.jobId)) refreshSoon();
    });
    onBeforeUnmount(() => {
      stopJobEvents();
      chart?.destroy();
    });

    const totals = computed(() => stats.value?.totals);
    const csvFrames = computed(() => api.statisticsCsvUrl(`jobs/${encodeURIComponent(props.jobId)}`));
    const csvRuns = computed(() => api.statisticsCsvUrl(`jobs/${encodeURIComponent(props.jobId)}/task-runs`));
    return {
      stats, error, totals, chartElement, csvFrames, csvRuns, duration, bytes, absoluteTime, relativeTime,
    };
  },
  template: `<div class="job-statistics" data-testid="job-statistics">
    <p v-if="error" class="hint">{{ error }}</p>
    <p v-else-if="!stats" class="hint">Loading the statistics…</p>
    <template v-else>
      <p v-if="!stats.recording" class="hint">This Manager does not record render statistics (the render_statistics setting is off).</p>
      <p v-if="stats.estimate" class="job-estimate" data-testid="job-estimate">
        Estimated to finish <strong :title="absoluteTime(stats.estimate.finishes_at)">{{ relativeTime(stats.estimate.finishes_at) }}</strong>
        ({{ duration(stats.estimate.remaining_seconds) }} left, at the pace of its completed tasks).
      </p>
      <dl class="facts">
        <dt>Frames rendered</dt><dd>{{ totals.frames_rendered }}</dd>
        <dt>Render time</dt><dd>{{ duration(totals.render_seconds_total) }} in all; mean {{ duration(totals.render_seconds_mean) }}, slowest {{ duration(totals.render_seconds_max) }}</dd>
        <dt>Peak memory</dt><dd>{{ totals.peak_memory_bytes_max === null ? '–' : bytes(totals.peak_memory_bytes_max) }}</dd>
        <dt>Task runs</dt><dd>{{ totals.task_runs }}, {{ duration(totals.running_seconds_total) }} on Workers; waited {{ duration(totals.queued_seconds_mean) }} in the queue on average</dd>
      </dl>
      <div v-show="stats.frames.length" ref="chartElement" class="frame-chart" data-testid="frame-chart" role="img" aria-label="Render time and peak memory per frame"></div>
      <p v-if="!stats.frames.length" class="hint">No frames reported yet: they appear as Blender saves them.</p>
      <template v-if="stats.slowest_frames.length">
        <h3 class="statistics-heading">Slowest frames</h3>
        <table class="plain-table" data-testid="slowest-frames">
          <thead><tr><th scope="col">Frame</th><th scope="col">Render time</th><th scope="col">Peak memory</th><th scope="col">Worker</th></tr></thead>
          <tbody>
            <tr v-for="(frame, index) in stats.slowest_frames" :key="index">
              <td>{{ frame.frame === null ? '?' : frame.frame }}</td>
              <td>{{ duration(frame.render_seconds) }}</td>
              <td>{{ frame.peak_memory_bytes === null ? '–' : bytes(frame.peak_memory_bytes) }}</td>
              <td>{{ frame.worker_name || frame.worker_id }}</td>
            </tr>
          </tbody>
        </table>
      </template>
      <p class="statistics-downloads">Download as CSV: <a :href="csvFrames" download>frames</a> · <a :href="csvRuns" download>task runs</a></p>
    </template>
  </div>`,
};
