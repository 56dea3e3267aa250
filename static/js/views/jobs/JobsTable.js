// The jobs table: status filter, name search, sorting, and the actions bar above it.
import { computed, reactive, ref, h } from 'vue';
import VirtualTable from '../../components/VirtualTable.js';
import StatusFilter from '../../components/StatusFilter.js';
import { statusCell } from '../../components/status.js';
import { jobs } from '../../stores/jobs.js';
import { JOB_STATUSES } from '../../lib/status.js';
import { now, relativeTime, absoluteTime, plural } from '../../lib/format.js';
import { sortRecords } from '../../lib/collection.js';
import JobActions from './JobActions.js';
import ResourceLimits from './ResourceLimits.js';
import GetTheAddon from './GetTheAddon.js';

// Kept between visits to the view.
const statusFilter = ref(new Set());
const search = ref('');
const sort = reactive({ key: 'updatedMs', descending: true });

const columns = [
  { key: 'status', label: 'Status', width: 'minmax(8rem, 10rem)', sortKey: 'status', cell: (job) => statusCell(job) },
  { key: 'name', label: 'Name', width: 'minmax(8rem, 1fr)', sortKey: 'sortName', class: 'cell-name', cell: (job) => h('span', { title: job.name }, job.name) },
  {
    key: 'updated',
    label: 'Updated',
    width: 'minmax(6rem, 8rem)',
    sortKey: 'updatedMs',
    descendingFirst: true,
    cell: (job) => h('time', { datetime: job.updated, title: absoluteTime(job.updated) }, relativeTime(job.updated, now.value)),
  },
  { key: 'priority', label: 'Prio', width: '3.5rem', fit: true, sortKey: 'priority', descendingFirst: true, class: 'cell-number' },
  { key: 'type', label: 'Type', width: 'minmax(5rem, 9rem)', fit: true, sortKey: 'type', class: 'cell-type' },
];

function rowClass(job) {
  return job.delete_requested_at ? 'deletion-requested' : null;
}

export default {
  name: 'JobsTable',
  components: { VirtualTable, StatusFilter, JobActions, GetTheAddon, ResourceLimits },
  props: { selection: { type: Object, required: true } },
  setup(props) {
    const state = jobs.state;
    const counts = computed(() => {
      void state.revision;
      const result = {};
      for (const job of jobs.values()) result[job.status] = (result[job.status] || 0) + 1;
      return result;
    });
    const rows = computed(() => {
      void state.revision;
      const wanted = statusFilter.value;
      const needle = search.value.trim().toLowerCase();
      const result = [];
      for (const job of jobs.values()) {
        if (wanted.size && !wanted.has(job.status)) continue;
        if (needle && !job.sortName.includes(needle)) continue;
        result.push(job);
      }
      return sortRecords(result, sort.key, sort.descending);
    });
    const summary = computed(() => {
      const shown = rows.value.length;
      const total = state.size;
      const selected = props.selection.state.ids.size;
      const parts = [shown === total ? plural(total, 'job') : `${shown} of ${plural(total, 'job')} shown`];
      if (selected) parts.push(`${selected} selected`);
      return parts.join(', ');
    });
    return { state, rows, counts, columns, statusFilter, search, sort, rowClass, summary, JOB_STATUSES };
  },
  template: `<div class="table-panel jobs-table" data-testid="jobs-table">
    <div class="panel-heading">
      <h2 id="jobs-heading">Jobs</h2>
      <span class="table-summary" aria-live="polite">{{ summary }}</span>
    </div>
    <ResourceLimits />
    <JobActions :selection="selection" :rows="rows" />
    <div class="table-tools">
      <input type="search" v-model="search" placeholder="Filter by name" aria-label="Filter jobs by name" class="search">
      <StatusFilter :statuses="JOB_STATUSES" :counts="counts" v-model="statusFilter" label="Show jobs with status" />
    </div>
    <p v-if="state.error" class="error-text" role="alert">Cannot load the jobs: {{ state.error }}</p>
    <GetTheAddon v-if="state.loaded && !state.error && state.size === 0" />
    <p v-else-if="!state.loaded" class="hint">Loading jobs…</p>
    <VirtualTable v-else :columns="columns" :rows="rows" :revision="state.revision" :selection="selection"
      :sort="sort" :row-class="rowClass" label="Jobs" empty-text="No job matches the filter." />
  </div>`,
};
