// Details of one Worker: facts, its tags, its sleep schedule, and removing it.
import { ref, computed, watch, onBeforeUnmount } from 'vue';
import * as api from '../../lib/api.js';
import { throttle } from '../../lib/batcher.js';
import { absoluteTime, relativeTime, now } from '../../lib/format.js';
import { RouterLink, navigate } from '../../lib/router.js';
import { statusLabel } from '../../lib/status.js';
import { onWorkerEvents } from '../../stores/workers.js';
import { tags, followTags, sortedTags } from '../../stores/tags.js';
import { notify, notifyError } from '../../stores/notifications.js';
import CopyText from '../../components/CopyText.js';
import ConfirmDialog from '../../components/ConfirmDialog.js';
import { StatusBadge } from '../../components/status.js';
import SleepSchedule from './SleepSchedule.js';

export default {
  name: 'WorkerDetails',
  components: { CopyText, ConfirmDialog, StatusBadge, RouterLink, SleepSchedule },
  props: { workerId: { type: String, required: true } },
  setup(props) {
    const worker = ref(null);
    const error = ref('');
    const confirmRemove = ref(false);
    const savingTags = ref(false);
    const busyToday = ref(null);
    let generation = 0;
    followTags();

    async function load() {
      const current = ++generation;
      try {
        const fetched = await api.fetchWorker(props.workerId);
        if (current !== generation) return;
        worker.value = fetched;
        error.value = '';
      } catch (failure) {
        if (current !== generation) return;
        worker.value = null;
        error.value = failure.status === 404 ? 'This Worker does not exist (any more).' : failure.message;
      }
    }
    // Render statistics: the share of the last 24 hours this Worker spent on tasks.
    async function loadUtilisation() {
      const workerId = props.workerId;
      const until = new Date();
      const since = new Date(until.getTime() - 24 * 3600 * 1000);
      try {
        const found = await api.fetchWorkerUtilisation(workerId, since.toISOString(), until.toISOString());
        if (workerId === props.workerId) busyToday.value = found.workers[0]?.busy_fraction ?? 0;
      } catch {
        busyToday.value = null;
      }
    }
    const refreshSoon = throttle(load, 500);
    watch(() => props.workerId, () => {
      worker.value = null;
      busyToday.value = null;
      load();
      loadUtilisation();
    }, { immediate: true });
    const stop = onWorkerEvents((events) => {
      if (events.some((event) => event.id === props.workerId)) refreshSoon();
    });
    onBeforeUnmount(stop);

    const allTags = computed(() => {
      void tags.state.revision;
      return sortedTags();
    });
    const workerTagIds = computed(() => new Set((worker.value?.tags || []).map((tag) => tag.id)));

    async function toggleTag(tag, checked) {
      const ids = new Set(workerTagIds.value);
      if (checked) ids.add(tag.id);
      else ids.delete(tag.id);
      savingTags.value = true;
      try {
        await api.setWorkerTags(props.workerId, [...ids]);
        notify(`${worker.value.name} ${checked ? 'now has' : 'no longer has'} tag “${tag.name}”.`, 'success');
      } catch (failure) {
        notifyError('Cannot change the tags', failure);
      }
      savingTags.value = false;
      load();
    }

    async function remove() {
      confirmRemove.value = false;
      try {
        await api.deleteWorker(props.workerId);
        notify(`Worker ${worker.value.name} removed.`, 'success');
        navigate('/workers');
      } catch (failure) {
        notifyError('Cannot remove the Worker', failure);
      }
    }

    return {
      worker, error, allTags, workerTagIds, toggleTag, savingTags, confirmRemove, remove,
      absoluteTime, relativeTime, now, statusLabel, busyToday,
    };
  },
  template: `<div class="worker-details" data-testid="worker-details">
    <p v-if="error" class="error-text" role="alert">{{ error }}</p>
    <p v-else-if="!worker" class="hint">Loading the Worker…</p>
    <template v-else>
      <h2 class="details-title">{{ worker.name }}</h2>
      <p class="details-subtitle"><StatusBadge :status="worker.status" />
        <span v-if="worker.status_change" class="pending-change">requested: {{ statusLabel(worker.status_change.status) }}{{ worker.status_change.is_lazy ? ' after the current task' : ' immediately' }}</span></p>
      <dl class="facts">
        <dt>ID</dt><dd><CopyText :value="worker.id" /></dd>
        <dt>Last seen</dt><dd><span :title="absoluteTime(worker.last_seen)">{{ worker.last_seen ? relativeTime(worker.last_seen, now) : 'never' }}</span></dd>
        <dt>Version</dt><dd>{{ worker.version }}</dd>
        <dt>Address</dt><dd><CopyText v-if="worker.ip_address" :value="worker.ip_address" /><span v-else>–</span></dd>
        <dt>Platform</dt><dd>{{ worker.platform }}</dd>
        <dt>Task types</dt><dd>{{ (worker.supported_task_types || []).join(', ') }}</dd>
        <dt>Last task</dt>
        <dd><RouterLink v-if="worker.task" :to="'/jobs/' + worker.task.job_id + '/' + worker.task.id">{{ worker.task.name }}</RouterLink><span v-else>–</span>
          <span v-if="worker.task" class="hint"> ({{ statusLabel(worker.task.status) }})</span></dd>
        <dt>Can restart</dt><dd>{{ worker.can_restart ? 'yes' : 'no' }}</dd>
        <template v-if="busyToday !== null"><dt>Busy</dt>
          <dd data-testid="worker-busy">{{ Math.round(busyToday * 100) }} % of the last 24 hours
            (<RouterLink to="/statistics">farm utilisation</RouterLink>)</dd></template>
      </dl>

      <section class="card" aria-labelledby="worker-tags-heading">
        <h3 id="worker-tags-heading">Tags</h3>
        <p class="hint" v-if="workerTagIds.size">This Worker only picks up jobs with one of its tags, and jobs without a tag.</p>
        <p class="hint" v-else>Without tags, this Worker only picks up jobs that have no tag.</p>
        <p v-if="!allTags.length" class="hint">There are no tags yet; <RouterLink to="/tags">create them on the Tags page</RouterLink>.</p>
        <ul class="switch-list">
          <li v-for="tag in allTags" :key="tag.id">
            <label class="switch">
              <input type="checkbox" role="switch" :checked="workerTagIds.has(tag.id)" :disabled="savingTags"
                @change="toggleTag(tag, $event.target.checked)">
              <span>{{ tag.name }}</span>
            </label>
            <span v-if="tag.description" class="hint"> — {{ tag.description }}</span>
          </li>
        </ul>
      </section>

      <SleepSchedule :worker-id="worker.id" />

      <section class="card" aria-labelledby="worker-maintenance-heading">
        <h3 id="worker-maintenance-heading">Maintenance</h3>
        <p class="hint">Removing a Worker makes the Manager forget it; its current task goes back to the queue.
          Shut the Worker down first, or it registers itself again the next time it starts.</p>
        <button type="button" class="danger" @click="confirmRemove = true">Remove {{ worker.name }}…</button>
      </section>
      <ConfirmDialog :open="confirmRemove" :title="'Remove ' + worker.name + '?'" confirm-label="Remove" danger
        @confirm="remove" @cancel="confirmRemove = false">
        <p>The Manager forgets this Worker. If it is still running, shut it down first.</p>
      </ConfirmDialog>
    </template>
  </div>`,
};
