// Details of the selected job: last-rendered image, why it is not running, settings,
// metadata, facts (with priority and max_workers controls), blocklist.
import { ref, computed, watch, onBeforeUnmount } from 'vue';
import * as api from '../../lib/api.js';
import { throttle } from '../../lib/batcher.js';
import { onEvent } from '../../lib/socket.js';
import { absoluteTime, labelFromKey } from '../../lib/format.js';
import { imageUrl } from '../../lib/lastRendered.js';
import { statusLabel } from '../../lib/status.js';
import { RouterLink } from '../../lib/router.js';
import { onJobEvents } from '../../stores/jobs.js';
import { onTaskEvents } from '../../stores/tasks.js';
import { followWorkers, onWorkerEvents } from '../../stores/workers.js';
import { tags, followTags, tagName } from '../../stores/tags.js';
import { notify, notifyError } from '../../stores/notifications.js';
import TabBar from '../../components/TabBar.js';
import FrameStrip from './FrameStrip.js';
import CopyText from '../../components/CopyText.js';
import PathText from '../../components/PathText.js';
import { StatusBadge } from '../../components/status.js';
import JobGraph from './JobGraph.js';
import { duration } from '../../lib/charts.js';
import JobStatistics from './JobStatistics.js';

const jobTypeCache = new Map(); // name -> Promise<AvailableJobType | null>

function jobTypeInfo(name) {
  if (!jobTypeCache.has(name)) {
    jobTypeCache.set(name, api.getJobType(name).catch(() => null));
    // Job types can change on disk; forget them after a while.
    setTimeout(() => jobTypeCache.delete(name), 60_000);
  }
  return jobTypeCache.get(name);
}

function displayValue(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

// Jobs in these statuses are done; asking why they do not run tells nothing new.
const FINAL_STATUSES = new Set(['completed', 'canceled', 'failed']);

const SHOWN_VISIBILITIES = new Set([undefined, '', 'visible', 'web']);
// Job statuses with an estimated end (render statistics).
const RUNNING = new Set(['active', 'queued']);

export default {
  name: 'JobDetails',
  components: {
    TabBar, CopyText, PathText, StatusBadge, RouterLink, JobGraph, JobStatistics, FrameStrip,
  },
  props: { jobId: { type: String, required: true } },
  setup(props) {
    const job = ref(null);
    const jobType = ref(null);
    const error = ref('');
    const tab = ref('settings');
    const blocklist = ref(null);
    const blocklistError = ref('');
    const lastRendered = ref(null);
    const imageVersion = ref(Date.now());
    const priority = ref(50);
    const editingPriority = ref(false);
    const estimate = ref(null);
    const maxWorkers = ref('');
    const editingMaxWorkers = ref(false);
    const reasons = ref([]);
    let generation = 0;
    let explained = 0;
    followTags();
    followWorkers();

    async function load() {
      const current = ++generation;
      try {
        const fetched = await api.fetchJob(props.jobId);
        if (current !== generation) return;
        job.value = fetched;
        error.value = '';
        if (!editingPriority.value) priority.value = fetched.priority;
        if (!editingMaxWorkers.value) maxWorkers.value = fetched.max_workers ?? '';
        explain();
        jobType.value = await jobTypeInfo(fetched.type);
        if (tab.value === 'blocklist') loadBlocklist();
        if (RUNNING.has(fetched.status)) loadEstimateSoon();
        else estimate.value = null;
      } catch (failure) {
        if (current !== generation) return;
        job.value = null;
        error.value = failure.status === 404 ? 'This job does not exist (any more).' : failure.message;
      }
    }

    async function loadLastRendered() {
      try {
        lastRendered.value = await api.fetchJobLastRenderedInfo(props.jobId);
        imageVersion.value = Date.now();
      } catch {
        lastRendered.value = null;
      }
    }

    async function loadBlocklist() {
      try {
        blocklist.value = await api.fetchJobBlocklist(props.jobId);
        blocklistError.value = '';
      } catch (failure) {
        blocklistError.value = failure.message;
      }
    }

    async function loadEstimate() {
      const jobId = props.jobId;
      try {
        const found = await api.fetchJobRenderStatistics(jobId);
        if (jobId === props.jobId) estimate.value = found.estimate;
      } catch {
        estimate.value = null;
      }
    }
    // Every job update would otherwise fetch the job's statistics again.
    const loadEstimateSoon = throttle(loadEstimate, 5000);
    // Why the job's next task is not running (the scheduler's own rules, see explainJob).
    async function explain() {
      const current = ++explained;
      if (!job.value || FINAL_STATUSES.has(job.value.status)) {
        reasons.value = [];
        return;
      }
      try {
        const answer = await api.explainJob(props.jobId);
        if (current === explained) reasons.value = answer.reasons;
      } catch {
        if (current === explained) reasons.value = [];
      }
    }

    const refreshSoon = throttle(load, 500);
    // Workers waking, tasks starting and finishing anywhere change the answer.
    const explainSoon = throttle(explain, 1000);

    watch(
      () => props.jobId,
      () => {
        job.value = null;
        jobType.value = null;
        blocklist.value = null;
        lastRendered.value = null;
        estimate.value = null;
        editingPriority.value = false;
        editingMaxWorkers.value = false;
        reasons.value = [];
        load();
        loadLastRendered();
      },
      { immediate: true },
    );
    watch(tab, (value) => {
      if (value === 'blocklist') loadBlocklist();
    });

    const stopJobEvents = onJobEvents((events) => {
      const mine = events.filter((event) => event.id === props.jobId);
      if (!mine.length) return;
      if (mine.some((event) => event.was_deleted)) {
        job.value = null;
        error.value = 'This job has been deleted.';
        return;
      }
      refreshSoon();
    });
    const stopOtherJobs = onJobEvents((events) => {
      if (events.some((event) => event.id !== props.jobId)) explainSoon();
    });
    const stopWorkerEvents = onWorkerEvents(() => explainSoon());
    const stopTaskEvents = onTaskEvents(() => explainSoon());
    const stopLastRendered = onEvent('/last-rendered', (event) => {
      if (event.job_id !== props.jobId) return;
      lastRendered.value = event.thumbnail;
      imageVersion.value = Date.now();
    });
    onBeforeUnmount(() => {
      stopJobEvents();
      stopOtherJobs();
      stopWorkerEvents();
      stopTaskEvents();
      stopLastRendered();
    });

    const settings = computed(() => {
      const values = job.value?.settings || {};
      const definitions = jobType.value?.settings || [];
      const known = new Set(definitions.map((setting) => setting.key));
      const rows = definitions
        .filter((setting) => SHOWN_VISIBILITIES.has(setting.visible) && setting.key in values)
        .map((setting) => ({ key: setting.key, label: setting.label || labelFromKey(setting.key), value: displayValue(values[setting.key]), help: setting.description || '' }));
      for (const [key, value] of Object.entries(values)) {
        if (!known.has(key)) rows.push({ key, label: labelFromKey(key), value: displayValue(value), help: '' });
      }
      return rows;
    });
    const metadata = computed(() => Object.entries(job.value?.metadata || {}).map(([key, value]) => ({ key, value: displayValue(value) })));
    const tagLabel = computed(() => {
      void tags.state.revision;
      return job.value?.worker_tag ? tagName(job.value.worker_tag) : 'All Workers';
    });
    const thumbnail = computed(() => imageUrl(lastRendered.value, 'small', imageVersion.value));

    async function savePriority() {
      const value = Number(priority.value);
      if (!Number.isInteger(value) || value < 0 || value > 100) {
        notify('The priority must be a whole number from 0 to 100.', 'error');
        return;
      }
      try {
        await api.setJobPriority(props.jobId, value);
        editingPriority.value = false;
        notify(`Priority of “${job.value.name}” set to ${value}.`, 'success');
        refreshSoon();
      } catch (failure) {
        notifyError('Cannot change the priority', failure);
      }
    }

    async function saveMaxWorkers() {
      const text = String(maxWorkers.value).trim();
      const value = text === '' ? null : Number(text);
      if (value !== null && (!Number.isInteger(value) || value < 1)) {
        notify('Max workers must be a whole number of at least 1, or empty for no limit.', 'error');
        return;
      }
      try {
        await api.setJobMaxWorkers(props.jobId, value);
        editingMaxWorkers.value = false;
        notify(value === null
          ? `“${job.value.name}” may use any number of Workers.`
          : `“${job.value.name}” runs on at most ${value} Worker${value === 1 ? '' : 's'} at once.`, 'success');
        refreshSoon();
      } catch (failure) {
        notifyError('Cannot change max workers', failure);
      }
    }

    async function removeFromBlocklist(entry) {
      try {
        await api.removeJobBlocklist(props.jobId, [{ worker_id: entry.worker_id, task_type: entry.task_type }]);
        notify(`${entry.worker_name || entry.worker_id} may run “${entry.task_type}” tasks of this job again.`, 'success');
      } catch (failure) {
        notifyError('Cannot change the blocklist', failure);
      }
      loadBlocklist();
    }

    const tabs = [
      { key: 'settings', label: 'Settings' },
      { key: 'metadata', label: 'Metadata' },
      { key: 'details', label: 'Details' },
      { key: 'blocklist', label: 'Blocklist' },
      { key: 'statistics', label: 'Statistics' },
    ];

    return {
      job, jobType, error, tab, tabs, settings, metadata, tagLabel, thumbnail, blocklist, blocklistError,
      priority, editingPriority, savePriority, removeFromBlocklist, absoluteTime, statusLabel,
      estimate, duration,
      maxWorkers, editingMaxWorkers, saveMaxWorkers, reasons,
    };
  },
  template: `<section class="job-details" aria-labelledby="job-details-heading" data-testid="job-details">
    <p v-if="error" class="error-text" role="alert">{{ error }}</p>
    <p v-else-if="!job" class="hint">Loading the job…</p>
    <template v-else>
      <div class="details-heading">
        <img v-if="thumbnail" class="job-thumbnail" :src="thumbnail" alt="The job's last rendered image" data-testid="job-thumbnail">
        <div>
          <h2 id="job-details-heading" class="details-title">{{ job.name }}</h2>
          <p class="details-subtitle"><StatusBadge :status="job.status" />
            <span>{{ jobType ? jobType.label : job.type }}</span>
            <span v-if="job.steps_total">· {{ job.steps_completed }} of {{ job.steps_total }} steps</span>
            <span v-if="estimate" data-testid="job-eta" :title="'Estimated end: ' + absoluteTime(estimate.finishes_at)">· about {{ duration(estimate.remaining_seconds) }} left</span></p>
          <p v-if="job.activity" class="activity"><PathText :text="job.activity" /></p>
        </div>
      </div>
      <div v-if="reasons.length" class="job-explanation" role="status" data-testid="job-explanation">
        <p class="job-explanation-title">Why no new task of this job starts:</p>
        <ul>
          <li v-for="reason in reasons" :key="reason.code + reason.message" :data-code="reason.code">{{ reason.message }}</li>
        </ul>
      </div>
      <JobGraph :job-id="job.id" />
      <FrameStrip :job-id="job.id" />
      <TabBar :tabs="tabs" v-model="tab" label="Job information" id-prefix="job" />
      <div id="job-panel" role="tabpanel" class="tab-panel" :aria-labelledby="'job-tab-' + tab">
        <template v-if="tab === 'settings'">
          <dl v-if="settings.length" class="facts">
            <template v-for="row in settings" :key="row.key">
              <dt :title="row.help">{{ row.label }}</dt><dd><PathText :text="row.value" /></dd>
            </template>
          </dl>
          <p v-else class="hint">This job has no settings to show.</p>
        </template>
        <template v-else-if="tab === 'metadata'">
          <dl v-if="metadata.length" class="facts">
            <template v-for="row in metadata" :key="row.key"><dt>{{ row.key }}</dt><dd><PathText :text="row.value" /></dd></template>
          </dl>
          <p v-else class="hint">This job has no metadata.</p>
        </template>
        <dl v-else-if="tab === 'details'" class="facts">
          <dt>ID</dt><dd><CopyText :value="job.id" /></dd>
          <dt>Name</dt><dd>{{ job.name }}</dd>
          <dt>Status</dt><dd>{{ statusLabel(job.status) }}</dd>
          <dt>Job type</dt><dd>{{ jobType ? jobType.label + ' (' + job.type + ')' : job.type }}</dd>
          <dt>Worker tag</dt><dd>{{ tagLabel }}</dd>
          <dt><label for="job-priority">Priority</label></dt>
          <dd>
            <form class="inline-form" @submit.prevent="savePriority">
              <input id="job-priority" type="number" min="0" max="100" step="1" v-model="priority" @input="editingPriority = true" data-testid="job-priority">
              <button type="submit" :disabled="!editingPriority || Number(priority) === job.priority" aria-label="Set priority">Set</button>
            </form>
          </dd>
          <dt><label for="job-max-workers">Max workers</label></dt>
          <dd>
            <form class="inline-form" @submit.prevent="saveMaxWorkers">
              <input id="job-max-workers" type="number" min="1" step="1" placeholder="no limit" v-model="maxWorkers" @input="editingMaxWorkers = true" data-testid="job-max-workers">
              <button type="submit" :disabled="!editingMaxWorkers || String(maxWorkers) === String(job.max_workers ?? '')" aria-label="Set max workers">Set</button>
            </form>
          </dd>
          <dt>Created</dt><dd>{{ absoluteTime(job.created) }}</dd>
          <template v-if="job.delete_requested_at"><dt>Deletion requested</dt><dd>{{ absoluteTime(job.delete_requested_at) }}</dd></template>
          <template v-else><dt>Updated</dt><dd>{{ absoluteTime(job.updated) }}</dd></template>
          <dt>Steps</dt><dd>{{ job.steps_completed }} of {{ job.steps_total }}</dd>
          <template v-if="job.submitter_platform"><dt>Submitted from</dt><dd>{{ job.submitter_platform }}</dd></template>
          <template v-if="job.storage && job.storage.shaman_checkout_id"><dt>Shaman checkout</dt><dd>{{ job.storage.shaman_checkout_id }}</dd></template>
          <dt>Activity</dt><dd><PathText :text="job.activity || '–'" /></dd>
        </dl>
        <JobStatistics v-else-if="tab === 'statistics'" :job-id="job.id" />
        <div v-else class="blocklist">
          <p class="hint">Workers that failed too many tasks of a type in this job get no more tasks of that type from it. Remove an entry to let the Worker try again.</p>
          <p v-if="blocklistError" class="error-text" role="alert">{{ blocklistError }}</p>
          <p v-else-if="!blocklist" class="hint">Loading…</p>
          <p v-else-if="!blocklist.length">No Worker is blocked from this job.</p>
          <table v-else class="plain-table">
            <thead><tr><th scope="col">Worker</th><th scope="col">Task type</th><th scope="col"><span class="visually-hidden">Remove</span></th></tr></thead>
            <tbody>
              <tr v-for="entry in blocklist" :key="entry.worker_id + entry.task_type">
                <td><RouterLink :to="'/workers/' + entry.worker_id">{{ entry.worker_name || entry.worker_id }}</RouterLink></td>
                <td>{{ entry.task_type }}</td>
                <td><button type="button" class="icon-button" :aria-label="'Remove ' + (entry.worker_name || entry.worker_id) + ' from the blocklist for ' + entry.task_type" @click="removeFromBlocklist(entry)">✕</button></td>
              </tr>
            </tbody>
          </table>
        </div>
      </div>
    </template>
  </section>`,
};
