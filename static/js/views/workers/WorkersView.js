// The workers view: table of Workers with their actions, and the selected Worker's details.
import { computed, reactive, ref, watch, h } from 'vue';
import VirtualTable from '../../components/VirtualTable.js';
import StatusFilter from '../../components/StatusFilter.js';
import { statusDot } from '../../components/status.js';
import { route, navigate } from '../../lib/router.js';
import { createSelection } from '../../lib/selection.js';
import { sortRecords } from '../../lib/collection.js';
import { WORKER_STATUSES, statusLabel } from '../../lib/status.js';
import { now, relativeTime, absoluteTime } from '../../lib/format.js';
import { workers, followWorkers } from '../../stores/workers.js';
import WorkerActions from './WorkerActions.js';
import WorkerDetails from './WorkerDetails.js';

const selection = createSelection();
const statusFilter = ref(new Set());
const sort = reactive({ key: 'sortName', descending: false });

export function workerStatusCell(worker) {
  const change = worker.status_change;
  return h('span', { class: 'status-line' }, [
    statusDot(worker.status),
    h('span', { class: 'status-text' }, statusLabel(worker.status)),
    change
      ? h('span', { class: 'pending-change', title: change.is_lazy ? 'After the current task' : 'Immediately' },
          ` ➜ ${statusLabel(change.status)}${change.is_lazy ? ' (after task)' : ''}`)
      : null,
  ]);
}

const columns = [
  { key: 'status', label: 'Status', width: 'minmax(9rem, 15rem)', sortKey: 'status', cell: workerStatusCell },
  { key: 'name', label: 'Name', width: 'minmax(8rem, 1fr)', sortKey: 'sortName', class: 'cell-name' },
  { key: 'version', label: 'Version', width: 'minmax(5rem, 9rem)', fit: true, sortKey: 'version' },
  {
    key: 'last_seen',
    label: 'Last seen',
    width: 'minmax(6rem, 8rem)',
    sortKey: 'lastSeenMs',
    descendingFirst: true,
    cell: (worker) => h('time', { datetime: worker.last_seen, title: absoluteTime(worker.last_seen) }, worker.last_seen ? relativeTime(worker.last_seen, now.value) : 'never'),
  },
];

export default {
  name: 'WorkersView',
  components: { VirtualTable, StatusFilter, WorkerActions, WorkerDetails },
  setup() {
    followWorkers();
    const state = workers.state;
    const workerId = computed(() => (route.name === 'workers' ? route.params.workerId : ''));
    watch(workerId, (id) => {
      if (id !== selection.active) selection.only(id);
    }, { immediate: true });
    watch(() => selection.state.active, (id) => {
      if (route.name === 'workers' && id !== workerId.value) navigate(id ? `/workers/${id}` : '/workers');
    });
    watch(() => state.revision, () => {
      if (state.loaded && !state.error) selection.prune((id) => workers.byId.has(id));
    });

    const counts = computed(() => {
      void state.revision;
      const result = {};
      for (const worker of workers.values()) result[worker.status] = (result[worker.status] || 0) + 1;
      return result;
    });
    const rows = computed(() => {
      void state.revision;
      const wanted = statusFilter.value;
      const result = [...workers.values()].filter((worker) => !wanted.size || wanted.has(worker.status));
      return sortRecords(result, sort.key, sort.descending);
    });
    return { state, rows, counts, columns, sort, selection, statusFilter, workerId, WORKER_STATUSES };
  },
  template: `<div class="workers-view">
    <section class="column" aria-labelledby="workers-heading" data-testid="workers-table">
      <div class="panel-heading">
        <h2 id="workers-heading">Workers</h2>
        <span class="table-summary">{{ state.size === 1 ? '1 Worker' : state.size + ' Workers' }}<template v-if="selection.state.ids.size">, {{ selection.state.ids.size }} selected</template></span>
      </div>
      <WorkerActions :selection="selection" />
      <StatusFilter :statuses="WORKER_STATUSES" :counts="counts" v-model="statusFilter" label="Show Workers with status" />
      <p v-if="state.error" class="error-text" role="alert">Cannot load the Workers: {{ state.error }}</p>
      <p v-else-if="!state.loaded" class="hint">Loading Workers…</p>
      <div v-else-if="!state.size" class="empty-state">
        <h3>No Workers yet</h3>
        <p>Start <code>flamenco-worker</code> on each render machine. It finds this Manager on the local network by itself,
        or can be pointed at it with <code>--manager {{ origin }}</code>. Workers appear here as soon as they register.</p>
      </div>
      <VirtualTable v-else :columns="columns" :rows="rows" :revision="state.revision" :selection="selection"
        :sort="sort" label="Workers" empty-text="No Worker matches the filter." />
    </section>
    <section class="column column-worker" aria-label="Selected Worker">
      <WorkerDetails v-if="workerId" :worker-id="workerId" />
      <p v-else class="empty-state small">Select a Worker to see its details, tags and sleep schedule.</p>
    </section>
  </div>`,
  computed: {
    origin: () => window.location.origin,
  },
};
