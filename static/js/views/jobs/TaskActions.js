// Buttons acting on every selected task that allows the action.
import { ref, computed } from 'vue';
import * as api from '../../lib/api.js';
import { TASK_ACTIONS, REASON } from '../../lib/status.js';
import { plural } from '../../lib/format.js';
import { tasks } from '../../stores/tasks.js';
import { notify, notifyError } from '../../stores/notifications.js';

export default {
  name: 'TaskActions',
  props: { selection: { type: Object, required: true } },
  setup(props) {
    const busy = ref(false);
    const selected = computed(() => {
      void props.selection.state.version;
      void tasks.state.revision;
      return props.selection.ids().map((id) => tasks.get(id)).filter(Boolean);
    });
    const eligible = (key) => selected.value.filter((task) => TASK_ACTIONS[key].allowedFrom.includes(task.status));
    const counts = computed(() => ({ cancel: eligible('cancel').length, requeue: eligible('requeue').length }));

    async function run(key) {
      const action = TASK_ACTIONS[key];
      const targets = eligible(key);
      busy.value = true;
      const results = await Promise.allSettled(targets.map((task) => api.setTaskStatus(task.id, action.status, REASON)));
      busy.value = false;
      const failures = results.filter((result) => result.status === 'rejected');
      const succeeded = targets.length - failures.length;
      if (succeeded) notify(`${plural(succeeded, 'task')} ${action.done}.`, 'success');
      if (failures.length) notifyError(`${plural(failures.length, 'task')} could not be ${action.done}`, failures[0].reason);
    }

    return { busy, counts, run, selected };
  },
  template: `<div class="actions-bar" role="toolbar" aria-label="Actions on the selected tasks">
    <button type="button" :disabled="busy || !counts.cancel" @click="run('cancel')">Cancel task<span v-if="selected.length > 1"> ({{ counts.cancel }})</span></button>
    <button type="button" :disabled="busy || !counts.requeue" @click="run('requeue')">Requeue task<span v-if="selected.length > 1"> ({{ counts.requeue }})</span></button>
  </div>`,
};
