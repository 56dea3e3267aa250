// A job's place among other jobs: what it waits for, what waits for it, and pending approvals.
import { ref, computed, watch, onBeforeUnmount } from 'vue';
import * as api from '../../lib/api.js';
import { throttle } from '../../lib/batcher.js';
import { RouterLink } from '../../lib/router.js';
import { onJobEvents } from '../../stores/jobs.js';
import { onTaskEvents } from '../../stores/tasks.js';
import { StatusBadge } from '../../components/status.js';

export default {
  name: 'JobGraph',
  components: { RouterLink, StatusBadge },
  props: { jobId: { type: String, required: true } },
  setup(props) {
    const graph = ref(null);
    let generation = 0;

    async function load() {
      const current = ++generation;
      try {
        const fetched = await api.fetchJobDependencies(props.jobId);
        if (current === generation) graph.value = fetched;
      } catch {
        if (current === generation) graph.value = null;
      }
    }
    const reloadSoon = throttle(load, 500);
    watch(() => props.jobId, () => { graph.value = null; load(); }, { immediate: true });

    // This job, or any job it is linked to, changed: what it waits for may have too.
    const stop = onJobEvents((events) => {
      const linked = new Set([props.jobId]);
      for (const job of [...(graph.value?.depends_on || []), ...(graph.value?.dependents || [])]) linked.add(job.id);
      if (events.some((event) => linked.has(event.id))) reloadSoon();
    });
    // A task of this job finished: an approval may be pending now, or no longer.
    const stopTasks = onTaskEvents((events) => {
      if (events.some((event) => event.job_id === props.jobId)) reloadSoon();
    });
    onBeforeUnmount(() => {
      stop();
      stopTasks();
    });

    const pendingApprovals = computed(() => graph.value?.awaiting_approval || []);
    const shown = computed(() => graph.value && (graph.value.depends_on.length || graph.value.dependents.length));

    return { graph, shown, pendingApprovals };
  },
  template: `<div class="job-graph" data-testid="job-graph">
    <p v-if="graph && graph.waiting_reason" class="waiting-reason" role="status" data-testid="waiting-reason">
      <strong>Waiting:</strong> {{ graph.waiting_reason }}</p>
    <p v-for="task in pendingApprovals" :key="task.id" class="approval-notice" data-testid="approval-notice">
      Approval task <RouterLink :to="'/jobs/' + jobId + '/' + task.id">{{ task.name }}</RouterLink> awaits approval: open it to approve or reject.</p>
    <div v-if="shown" class="job-links">
      <div v-if="graph.depends_on.length">
        <h3>Depends on</h3>
        <ul data-testid="job-depends-on">
          <li v-for="job in graph.depends_on" :key="job.id"><StatusBadge :status="job.status" />
            <RouterLink :to="'/jobs/' + job.id">{{ job.name }}</RouterLink></li>
        </ul>
      </div>
      <div v-if="graph.dependents.length">
        <h3>Dependents</h3>
        <ul data-testid="job-dependents">
          <li v-for="job in graph.dependents" :key="job.id"><StatusBadge :status="job.status" />
            <RouterLink :to="'/jobs/' + job.id">{{ job.name }}</RouterLink></li>
        </ul>
      </div>
    </div>
  </div>`,
};
