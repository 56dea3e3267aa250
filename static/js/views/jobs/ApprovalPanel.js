// Approve or reject an approval task: the one kind of task a person does, never a Worker.
import { ref, computed, watch, onBeforeUnmount } from 'vue';
import * as api from '../../lib/api.js';
import { throttle } from '../../lib/batcher.js';
import { onTaskEvents } from '../../stores/tasks.js';
import { notify, notifyError } from '../../stores/notifications.js';

export default {
  name: 'ApprovalPanel',
  props: { task: { type: Object, required: true } },
  emits: ['decided'],
  setup(props, { emit }) {
    const busy = ref(false);
    const rejecting = ref(false);
    const reason = ref('');
    const comment = ref('');
    // Queued is not enough: the tasks before it, and the jobs its job depends on, must be done.
    const awaiting = ref(false);
    async function check() {
      try {
        const graph = await api.fetchJobDependencies(props.task.job_id);
        awaiting.value = graph.awaiting_approval.some((task) => task.id === props.task.id);
      } catch {
        awaiting.value = false;
      }
    }
    const checkSoon = throttle(check, 500);
    watch(() => [props.task.id, props.task.status], check, { immediate: true });
    const stop = onTaskEvents((events) => {
      if (events.some((event) => event.job_id === props.task.job_id)) checkSoon();
    });
    onBeforeUnmount(stop);
    const pending = computed(() => props.task.status === 'queued' && awaiting.value);

    async function decide(action) {
      busy.value = true;
      try {
        if (action === 'approve') {
          await api.approveTask(props.task.id, comment.value.trim());
          notify(`“${props.task.name}” approved.`, 'success');
        } else {
          await api.rejectTask(props.task.id, reason.value.trim());
          notify(`“${props.task.name}” rejected.`, 'success');
          rejecting.value = false;
        }
        emit('decided');
      } catch (failure) {
        notifyError(action === 'approve' ? 'Cannot approve' : 'Cannot reject', failure);
      } finally {
        busy.value = false;
      }
    }

    return { busy, rejecting, reason, comment, pending, decide };
  },
  template: `<section class="approval-panel" aria-labelledby="approval-heading" data-testid="approval-panel">
    <h3 id="approval-heading">Approval</h3>
    <template v-if="pending">
      <p class="hint">A person decides on this task; no Worker runs it. Approving completes it, and what waits for it runs.
        Rejecting fails it and its job; requeueing the job asks again.</p>
      <form v-if="!rejecting" class="inline-form" @submit.prevent="decide('approve')">
        <label for="approval-comment" class="visually-hidden">Comment</label>
        <input id="approval-comment" v-model="comment" placeholder="Comment (optional)" data-testid="approval-comment">
        <button type="submit" class="primary" :disabled="busy" data-testid="approve-task">Approve</button>
        <button type="button" class="danger" :disabled="busy" @click="rejecting = true" data-testid="start-reject">Reject…</button>
      </form>
      <form v-else class="reject-form" @submit.prevent="decide('reject')">
        <label for="reject-reason">Why is it rejected?</label>
        <textarea id="reject-reason" v-model="reason" required rows="2" data-testid="reject-reason"></textarea>
        <div class="button-row">
          <button type="submit" class="danger" :disabled="busy || !reason.trim()" data-testid="reject-task">Reject</button>
          <button type="button" :disabled="busy" @click="rejecting = false">Back</button>
        </div>
      </form>
    </template>
    <p v-else-if="task.status === 'queued'" class="hint" data-testid="approval-not-yet">This approval can be decided once
      the tasks before it have completed and its job waits for no other job.</p>
    <p v-else-if="task.status === 'completed'">Approved. {{ task.activity }}</p>
    <p v-else-if="task.status === 'failed'">Rejected. {{ task.activity }}</p>
    <p v-else class="hint">Not awaiting a decision now (the task is {{ task.status }}).</p>
  </section>`,
};
