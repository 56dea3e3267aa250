// The farm-wide resource limits of the configuration and how much of each is in use.
import { ref, onBeforeUnmount } from 'vue';
import * as api from '../../lib/api.js';
import { throttle } from '../../lib/batcher.js';
import { onReconnect } from '../../lib/socket.js';
import { onJobEvents } from '../../stores/jobs.js';
import { followWorkers, onWorkerEvents } from '../../stores/workers.js';

export default {
  name: 'ResourceLimits',
  setup() {
    const limits = ref([]);
    let generation = 0;

    async function load() {
      const current = ++generation;
      try {
        const answer = await api.fetchResourceLimits();
        if (current === generation) limits.value = answer.limits;
      } catch {
        // The jobs table says when the Manager is away; keep the last figures.
      }
    }

    // A task starting or ending changes a limit's use; both come with a Worker event
    // (it asked for work) or a job event (its steps or status changed).
    const loadSoon = throttle(load, 1000);
    followWorkers();
    const stops = [onJobEvents(loadSoon), onWorkerEvents(loadSoon), onReconnect(loadSoon)];
    onBeforeUnmount(() => stops.forEach((stop) => stop()));
    load();
    return { limits };
  },
  template: `<div v-if="limits.length" class="resource-limits" data-testid="resource-limits" aria-label="Resource limits">
    <span class="resource-limits-title">Limits</span>
    <span v-for="limit in limits" :key="limit.name" class="resource-limit" :class="{ 'is-full': limit.in_use >= limit.capacity }"
      :data-limit="limit.name" :title="limit.in_use + ' of ' + limit.capacity + ' in use'">
      {{ limit.name }} <meter :value="limit.in_use" min="0" :max="Math.max(limit.capacity, 1)"></meter> {{ limit.in_use }}/{{ limit.capacity }}
    </span>
  </div>`,
};
