// Asking the selected Workers to shut down, restart, sleep or wake up.
import { ref, computed } from 'vue';
import * as api from '../../lib/api.js';
import { WORKER_ACTIONS } from '../../lib/status.js';
import { plural } from '../../lib/format.js';
import { workers } from '../../stores/workers.js';
import { notify, notifyError } from '../../stores/notifications.js';

export default {
  name: 'WorkerActions',
  props: { selection: { type: Object, required: true } },
  setup(props) {
    const choice = ref(WORKER_ACTIONS[0].key);
    const busy = ref(false);
    const selected = computed(() => {
      void props.selection.state.version;
      void workers.state.revision;
      return props.selection.ids().map((id) => workers.get(id)).filter(Boolean);
    });
    const action = computed(() => WORKER_ACTIONS.find((candidate) => candidate.key === choice.value));
    const targets = computed(() => selected.value.filter((worker) => !action.value.needsRestart || worker.can_restart));

    async function apply() {
      const chosen = action.value;
      const list = targets.value;
      if (!list.length) return;
      busy.value = true;
      const results = await Promise.allSettled(list.map((worker) => api.requestWorkerStatusChange(worker.id, chosen.status, chosen.lazy)));
      busy.value = false;
      const failures = results.filter((result) => result.status === 'rejected');
      const succeeded = list.length - failures.length;
      if (succeeded) notify(`${chosen.label}: asked ${plural(succeeded, 'Worker')}.`, 'success');
      if (failures.length) notifyError(`${plural(failures.length, 'Worker')} could not be asked`, failures[0].reason);
    }

    return { choice, busy, selected, targets, action, apply, WORKER_ACTIONS };
  },
  template: `<form class="actions-bar" @submit.prevent="apply" aria-label="Actions on the selected Workers">
    <label for="worker-action" class="visually-hidden">Action</label>
    <select id="worker-action" v-model="choice" data-testid="worker-action">
      <option v-for="option in WORKER_ACTIONS" :key="option.key" :value="option.key">{{ option.label }}</option>
    </select>
    <button type="submit" class="primary" :disabled="busy || !targets.length">Apply<span v-if="selected.length > 1"> to {{ targets.length }}</span></button>
    <span v-if="action.needsRestart && selected.length && targets.length < selected.length" class="hint">
      {{ selected.length - targets.length }} selected cannot restart by themselves (started without <code>--restart-exit-code</code>).
    </span>
  </form>`,
};
