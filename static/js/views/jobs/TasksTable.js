// The tasks of the selected job, with status filter, sorting and task actions.
import { computed, reactive, ref, h } from 'vue';
import VirtualTable from '../../components/VirtualTable.js';
import StatusFilter from '../../components/StatusFilter.js';
import { statusCell } from '../../components/status.js';
import { tasks } from '../../stores/tasks.js';
import { TASK_STATUSES } from '../../lib/status.js';
import { now, relativeTime, absoluteTime, plural } from '../../lib/format.js';
import { sortRecords } from '../../lib/collection.js';
import TaskActions from './TaskActions.js';

const statusFilter = ref(new Set());
const sort = reactive({ key: 'index_in_job', descending: false });

const columns = [
  { key: 'index_in_job', label: 'Num', width: '3.5rem', fit: true, sortKey: 'index_in_job', class: 'cell-number' },
  { key: 'status', label: 'Status', width: 'minmax(7rem, 9rem)', sortKey: 'status', cell: (task) => statusCell(task) },
  { key: 'name', label: 'Name', width: 'minmax(6rem, 1fr)', sortKey: 'sortName', class: 'cell-name', cell: (task) => h('span', { title: task.name }, task.name) },
  {
    key: 'updated',
    label: 'Updated',
    width: 'minmax(5rem, 7rem)',
    sortKey: 'updatedMs',
    descendingFirst: true,
    cell: (task) => h('time', { datetime: task.updated, title: absoluteTime(task.updated) }, relativeTime(task.updated, now.value)),
  },
  { key: 'worker', label: 'Worker', width: 'minmax(5rem, 8rem)', sortKey: 'workerName', cell: (task) => task.workerName },
];

export default {
  name: 'TasksTable',
  components: { VirtualTable, StatusFilter, TaskActions },
  props: { selection: { type: Object, required: true } },
  setup(props) {
    const state = tasks.state;
    const counts = computed(() => {
      void state.revision;
      const result = {};
      for (const task of tasks.values()) result[task.status] = (result[task.status] || 0) + 1;
      return result;
    });
    const rows = computed(() => {
      void state.revision;
      const wanted = statusFilter.value;
      const result = [];
      for (const task of tasks.values()) {
        if (!wanted.size || wanted.has(task.status)) result.push(task);
      }
      return sortRecords(result, sort.key, sort.descending);
    });
    const summary = computed(() => {
      const selected = props.selection.state.ids.size;
      const shown = rows.value.length;
      const text = shown === state.size ? plural(state.size, 'task') : `${shown} of ${plural(state.size, 'task')} shown`;
      return selected ? `${text}, ${selected} selected` : text;
    });
    return { state, rows, counts, columns, statusFilter, sort, summary, TASK_STATUSES };
  },
  template: `<div class="table-panel tasks-table" data-testid="tasks-table">
    <div class="panel-heading">
      <h2>Tasks</h2>
      <span class="table-summary" aria-live="polite">{{ summary }}</span>
    </div>
    <TaskActions :selection="selection" />
    <div class="table-tools">
      <StatusFilter :statuses="TASK_STATUSES" :counts="counts" v-model="statusFilter" label="Show tasks with status" />
    </div>
    <p v-if="state.error" class="error-text" role="alert">Cannot load the tasks: {{ state.error }}</p>
    <p v-else-if="!state.loaded" class="hint">Loading tasks…</p>
    <VirtualTable v-else :columns="columns" :rows="rows" :revision="state.revision" :selection="selection"
      :sort="sort" label="Tasks" empty-text="No task matches the filter." />
  </div>`,
};
