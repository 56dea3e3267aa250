// The jobs view: jobs table, the selected job with its tasks, the selected task.
// The selection follows the address (/jobs/<job>/<task>) and the other way round.
import { computed, watch, onBeforeUnmount } from 'vue';
import { route, navigate } from '../../lib/router.js';
import { createSelection } from '../../lib/selection.js';
import { subscribe } from '../../lib/socket.js';
import { jobs, followJobs } from '../../stores/jobs.js';
import { tasks, showTasksOf, reloadTasksOf } from '../../stores/tasks.js';
import JobsTable from './JobsTable.js';
import JobDetails from './JobDetails.js';
import TasksTable from './TasksTable.js';
import TaskDetails from './TaskDetails.js';

// Module-level, so the selection survives a visit to another view.
const jobSelection = createSelection();
const taskSelection = createSelection();

export default {
  name: 'JobsView',
  components: { JobsTable, JobDetails, TasksTable, TaskDetails },
  setup() {
    followJobs();
    const jobId = computed(() => (route.name === 'jobs' ? route.params.jobId : ''));
    const taskId = computed(() => (route.name === 'jobs' ? route.params.taskId : ''));

    // Address -> selection.
    watch(jobId, (id) => {
      if (id !== jobSelection.active) jobSelection.only(id);
    }, { immediate: true });
    watch(taskId, (id) => {
      if (id !== taskSelection.active) taskSelection.only(id);
    }, { immediate: true });

    // Selection -> address.
    watch(() => jobSelection.state.active, (id) => {
      if (route.name !== 'jobs' || id === jobId.value) return;
      navigate(id ? `/jobs/${id}` : '/jobs');
    });
    watch(() => taskSelection.state.active, (id) => {
      if (route.name !== 'jobs' || !jobId.value || id === taskId.value) return;
      navigate(id ? `/jobs/${jobId.value}/${id}` : `/jobs/${jobId.value}`);
    });

    // The selected job's room brings its task updates and last-rendered images.
    let leaveJobRoom = null;
    watch(jobId, (id, previous) => {
      if (id === previous && leaveJobRoom) return;
      leaveJobRoom?.();
      showTasksOf(id);
      leaveJobRoom = id ? subscribe('job', id, () => reloadTasksOf(id)) : null;
    }, { immediate: true });
    onBeforeUnmount(() => {
      leaveJobRoom?.();
      leaveJobRoom = null;
    });

    // Deleted jobs and tasks leave the selection.
    watch(() => jobs.state.revision, () => {
      if (jobs.state.loaded && !jobs.state.error) jobSelection.prune((id) => jobs.byId.has(id));
    });
    watch(() => tasks.state.revision, () => {
      if (tasks.state.loaded && !tasks.state.error) taskSelection.prune((id) => tasks.byId.has(id));
    });

    return { jobId, taskId, jobSelection, taskSelection };
  },
  template: `<div class="jobs-view">
    <section class="column column-jobs" aria-labelledby="jobs-heading">
      <JobsTable :selection="jobSelection" />
    </section>
    <section class="column column-job" aria-label="Selected job">
      <template v-if="jobId">
        <JobDetails :job-id="jobId" />
        <TasksTable :selection="taskSelection" />
      </template>
      <div v-else class="empty-state small"><p>Select a job to see its details and tasks.</p>
        <p class="hint">Click a row; Shift-click selects a range, Ctrl-click adds or removes one. In the table, the arrow keys move and Ctrl+A selects all.</p></div>
    </section>
    <section class="column column-task" :class="{ 'is-empty': !jobId }" aria-label="Selected task">
      <TaskDetails v-if="jobId && taskId" :task-id="taskId" />
      <div v-else class="empty-state small"><p>{{ jobId ? 'Select a task to see its details and log.' : '' }}</p></div>
    </section>
  </div>`,
};
