// Details of the selected task: commands, failures, activity, and its log.
import { ref, watch, onBeforeUnmount } from 'vue';
import * as api from '../../lib/api.js';
import { throttle } from '../../lib/batcher.js';
import { absoluteTime, bytes } from '../../lib/format.js';
import { RouterLink } from '../../lib/router.js';
import { onTaskEvents } from '../../stores/tasks.js';
import { openFooter } from '../../stores/ui.js';
import CopyText from '../../components/CopyText.js';
import PathText from '../../components/PathText.js';
import { StatusBadge } from '../../components/status.js';
import ApprovalPanel from './ApprovalPanel.js';

export default {
  name: 'TaskDetails',
  components: { CopyText, PathText, StatusBadge, RouterLink, ApprovalPanel },
  props: { taskId: { type: String, required: true } },
  setup(props) {
    const task = ref(null);
    const error = ref('');
    const logInfo = ref(null);
    let generation = 0;

    async function load() {
      const current = ++generation;
      try {
        const [fetched, info] = await Promise.all([api.fetchTask(props.taskId), api.fetchTaskLogInfo(props.taskId).catch(() => null)]);
        if (current !== generation) return;
        task.value = fetched;
        logInfo.value = info;
        error.value = '';
      } catch (failure) {
        if (current !== generation) return;
        task.value = null;
        error.value = failure.status === 404 ? 'This task does not exist (any more).' : failure.message;
      }
    }
    const refreshSoon = throttle(load, 500);

    watch(
      () => props.taskId,
      () => {
        task.value = null;
        logInfo.value = null;
        load();
      },
      { immediate: true },
    );
    const stop = onTaskEvents((events) => {
      if (events.some((event) => event.id === props.taskId)) refreshSoon();
    });
    onBeforeUnmount(stop);

    function parameters(command) {
      return JSON.stringify(command.parameters, null, 2);
    }

    return { task, error, logInfo, absoluteTime, bytes, parameters, load, followLog: () => openFooter('tasklog') };
  },
  template: `<section class="task-details" aria-labelledby="task-details-heading" data-testid="task-details">
    <p v-if="error" class="error-text" role="alert">{{ error }}</p>
    <p v-else-if="!task" class="hint">Loading the task…</p>
    <template v-else>
      <h2 id="task-details-heading" class="details-title">Task {{ task.name }}</h2>
      <p class="details-subtitle"><StatusBadge :status="task.status" />
        <span v-if="task.steps_total">({{ task.steps_completed }}/{{ task.steps_total }} steps)</span></p>
      <ApprovalPanel v-if="task.task_type === 'approval'" :task="task" @decided="load" />
      <div class="button-row">
        <button type="button" class="primary" @click="followLog">Follow task log</button>
        <a v-if="logInfo" class="button" :href="logInfo.url" target="_blank" rel="noopener">Open full log ({{ bytes(logInfo.size) }})</a>
        <span v-else class="hint">No log yet</span>
      </div>
      <dl class="facts">
        <dt>ID</dt><dd><CopyText :value="task.id" /></dd>
        <dt>Assigned to</dt>
        <dd><RouterLink v-if="task.worker" :to="'/workers/' + task.worker.id">{{ task.worker.name }}</RouterLink><span v-else>–</span></dd>
        <dt>Failed by</dt>
        <dd>
          <template v-if="task.failed_by_workers && task.failed_by_workers.length">
            <span v-for="(worker, index) in task.failed_by_workers" :key="worker.id"><template v-if="index">, </template><RouterLink :to="'/workers/' + worker.id">{{ worker.name }}</RouterLink></span>
          </template>
          <span v-else>no Worker</span>
        </dd>
        <dt>Task type</dt><dd>{{ task.task_type }}</dd>
        <dt>Priority</dt><dd>{{ task.priority }}</dd>
        <dt>Created</dt><dd>{{ absoluteTime(task.created) }}</dd>
        <dt>Updated</dt><dd>{{ absoluteTime(task.updated) }}</dd>
        <dt>Last touched</dt><dd>{{ task.last_touched ? absoluteTime(task.last_touched) : 'never, by any Worker' }}</dd>
        <dt>Activity</dt><dd><PathText :text="task.activity || '–'" /></dd>
      </dl>
      <h3>Commands</h3>
      <ol class="commands">
        <li v-for="(command, index) in task.commands" :key="index">
          <strong>{{ command.name }}</strong>
          <span v-if="command.total_step_count" class="hint"> · {{ command.total_step_count }} steps</span>
          <pre><PathText :text="parameters(command)" /></pre>
        </li>
      </ol>
    </template>
  </section>`,
};
