// Buttons acting on every selected job that allows the action.
import { ref, computed } from 'vue';
import * as api from '../../lib/api.js';
import { JOB_ACTIONS, REASON } from '../../lib/status.js';
import { plural } from '../../lib/format.js';
import { jobs } from '../../stores/jobs.js';
import { farm } from '../../stores/farm.js';
import { notify, notifyError } from '../../stores/notifications.js';
import ConfirmDialog from '../../components/ConfirmDialog.js';

const PARALLEL_REQUESTS = 8;

/** Runs `action` for each item, a few at a time; returns the errors. */
async function forEach(items, action) {
  const errors = [];
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const item = items[next++];
      try {
        await action(item);
      } catch (error) {
        errors.push(error);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL_REQUESTS, items.length) }, worker));
  return errors;
}

export default {
  name: 'JobActions',
  components: { ConfirmDialog },
  props: {
    selection: { type: Object, required: true },
    rows: { type: Array, required: true },
  },
  setup(props) {
    const busy = ref(false);
    const deleting = ref(null); // {jobs, shamanCount, checked}

    const selectedJobs = computed(() => {
      void props.selection.state.version;
      void jobs.state.revision;
      return props.selection.ids().map((id) => jobs.get(id)).filter(Boolean);
    });

    function eligible(actionKey) {
      const allowed = JOB_ACTIONS[actionKey].allowedFrom;
      return selectedJobs.value.filter((job) => allowed.includes(job.status) && !job.delete_requested_at);
    }

    const counts = computed(() => Object.fromEntries(Object.keys(JOB_ACTIONS).map((key) => [key, eligible(key).length])));

    async function report(actionKey, targets, errors) {
      const action = JOB_ACTIONS[actionKey];
      const succeeded = targets.length - errors.length;
      if (succeeded) notify(`${plural(succeeded, 'job')} successfully ${action.done}.`, 'success');
      if (errors.length) notifyError(`${plural(errors.length, 'job')} could not be ${action.done}`, errors[0]);
    }

    async function setStatus(actionKey) {
      const targets = eligible(actionKey);
      if (!targets.length) return;
      busy.value = true;
      const errors = await forEach(targets, (job) => api.setJobStatus(job.id, JOB_ACTIONS[actionKey].status, REASON));
      busy.value = false;
      report(actionKey, targets, errors);
    }

    async function askDelete() {
      const targets = eligible('delete');
      if (!targets.length) return;
      deleting.value = { jobs: targets, shamanCount: 0, checked: false, withDependents: false };
      let shamanCount = 0;
      await forEach(targets.slice(0, 200), async (job) => {
        const info = await api.deleteJobWhatWouldItDo(job.id);
        if (info?.shaman_checkout) shamanCount += 1;
      });
      if (deleting.value) Object.assign(deleting.value, { shamanCount, checked: true });
    }

    async function confirmDelete() {
      const targets = deleting.value.jobs;
      const withDependents = deleting.value.withDependents;
      deleting.value = null;
      busy.value = true;
      const errors = await forEach(targets, (job) => api.deleteJob(job.id, withDependents));
      busy.value = false;
      report('delete', targets, errors);
    }

    /** Selects every shown job updated no later than the newest selected one. */
    function selectPreceding() {
      const newest = Math.max(...selectedJobs.value.map((job) => job.updatedMs));
      props.selection.selectMany(props.rows.filter((job) => job.updatedMs <= newest).map((job) => job.id));
    }

    return { busy, counts, setStatus, askDelete, confirmDelete, deleting, selectPreceding, selectedJobs, farm, plural, JOB_ACTIONS };
  },
  template: `<div class="actions-bar" role="toolbar" aria-label="Actions on the selected jobs">
    <button type="button" :disabled="busy || !counts.pause" @click="setStatus('pause')" :title="'Pause ' + counts.pause + ' selected job(s)'">Pause<span v-if="selectedJobs.length > 1"> ({{ counts.pause }})</span></button>
    <button type="button" :disabled="busy || !counts.cancel" @click="setStatus('cancel')">Cancel<span v-if="selectedJobs.length > 1"> ({{ counts.cancel }})</span></button>
    <button type="button" :disabled="busy || !counts.requeue" @click="setStatus('requeue')">Requeue<span v-if="selectedJobs.length > 1"> ({{ counts.requeue }})</span></button>
    <button type="button" class="danger" :disabled="busy || !counts.delete" @click="askDelete">Delete…<span v-if="selectedJobs.length > 1"> ({{ counts.delete }})</span></button>
    <button type="button" class="secondary" :disabled="!selectedJobs.length" @click="selectPreceding" title="Select all shown jobs updated before the newest selected one">Select preceding</button>
    <ConfirmDialog :open="!!deleting" :title="deleting ? 'Delete ' + plural(deleting.jobs.length, 'job') + '?' : ''"
      confirm-label="Delete" danger @confirm="confirmDelete" @cancel="deleting = null">
      <template v-if="deleting">
        <p>This removes {{ deleting.jobs.length === 1 ? '“' + deleting.jobs[0].name + '”' : 'these jobs' }}, with
        {{ deleting.jobs.length === 1 ? 'its' : 'their' }} tasks, task logs and last-rendered images, from the Manager. It cannot be undone.</p>
        <p v-if="!deleting.checked">Checking for Shaman checkouts…</p>
        <p v-else-if="deleting.shamanCount" class="warning-text"><strong>The Shaman checkout</strong> of
          {{ deleting.jobs.length === 1 ? 'this job' : plural(deleting.shamanCount, 'job') }} is deleted too: the job's files in the shared storage are removed.</p>
        <p v-else-if="farm.configuration && farm.configuration.shamanEnabled">{{ deleting.jobs.length === 1 ? 'This job has' : 'These jobs have' }} no Shaman checkout; files in the shared storage are kept.</p>
        <p v-else>Shaman is not used on this farm, so the job files in the shared storage are kept.</p>
        <label class="checkbox-line"><input type="checkbox" v-model="deleting.withDependents" data-testid="delete-with-dependents">
          Also delete the jobs that depend on {{ deleting.jobs.length === 1 ? 'this job' : 'these jobs' }} (without this, a job others depend on is not deleted)</label>
      </template>
    </ConfirmDialog>
  </div>`,
};
