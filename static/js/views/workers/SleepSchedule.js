// A Worker's sleep schedule: shown, switched on or off, and edited.
import { ref, reactive, watch, computed } from 'vue';
import * as api from '../../lib/api.js';
import { notify } from '../../stores/notifications.js';

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const DAYS = ['mo', 'tu', 'we', 'th', 'fr', 'sa', 'su'];

export function validateSchedule(schedule) {
  const problems = {};
  for (const field of ['start_time', 'end_time']) {
    if (schedule[field] && !TIME.test(schedule[field])) problems[field] = 'Use 24-hour HH:MM, such as 09:00 or 18:30.';
  }
  const words = schedule.days_of_week.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const unknown = words.filter((word) => !DAYS.includes(word.slice(0, 2)));
  if (unknown.length) problems.days_of_week = `Unknown day: ${unknown.join(', ')}. Use mo tu we th fr sa su.`;
  return problems;
}

export default {
  name: 'SleepSchedule',
  props: { workerId: { type: String, required: true } },
  setup(props) {
    const schedule = ref(null); // null: none stored
    const error = ref('');
    const editing = ref(false);
    const saving = ref(false);
    const draft = reactive({ is_active: false, days_of_week: '', start_time: '', end_time: '' });
    const problems = computed(() => validateSchedule(draft));

    async function load() {
      try {
        schedule.value = await api.fetchWorkerSleepSchedule(props.workerId);
        error.value = '';
      } catch (failure) {
        schedule.value = null;
        error.value = failure.message;
      }
    }
    watch(() => props.workerId, () => {
      editing.value = false;
      load();
    }, { immediate: true });

    function edit() {
      Object.assign(draft, schedule.value || { is_active: true, days_of_week: 'mo tu we th fr', start_time: '09:00', end_time: '18:00' });
      editing.value = true;
    }

    async function save(values) {
      saving.value = true;
      try {
        await api.setWorkerSleepSchedule(props.workerId, values);
        notify('Sleep schedule saved.', 'success');
        editing.value = false;
        error.value = '';
        await load();
      } catch (failure) {
        error.value = `Cannot save the sleep schedule: ${failure.message}`;
      }
      saving.value = false;
    }

    function submit() {
      if (Object.keys(problems.value).length) return;
      save({ ...draft, days_of_week: draft.days_of_week.trim().toLowerCase() });
    }

    function toggleActive(active) {
      save({ ...(schedule.value || { days_of_week: '', start_time: '', end_time: '' }), is_active: active });
    }

    return { schedule, error, editing, saving, draft, problems, edit, submit, toggleActive };
  },
  template: `<section class="card sleep-schedule" aria-labelledby="sleep-heading" data-testid="sleep-schedule">
    <h3 id="sleep-heading">Sleep schedule</h3>
    <p class="hint">The Manager sends the Worker to sleep between the start and end time on the chosen days (Manager's local time), and wakes it up afterwards.</p>
    <p v-if="error" class="error-text" role="alert">{{ error }}</p>
    <template v-if="!editing">
      <template v-if="schedule">
        <label class="switch"><input type="checkbox" role="switch" :checked="schedule.is_active" :disabled="saving" @change="toggleActive($event.target.checked)"> Active</label>
        <dl class="facts">
          <dt>Days</dt><dd>{{ schedule.days_of_week || 'every day' }}</dd>
          <dt>Asleep from</dt><dd>{{ schedule.start_time || 'midnight' }}</dd>
          <dt>until</dt><dd>{{ schedule.end_time || 'midnight' }}</dd>
        </dl>
      </template>
      <p v-else-if="!error">This Worker has no sleep schedule.</p>
      <button type="button" @click="edit">{{ schedule ? 'Edit' : 'Set up a schedule' }}</button>
    </template>
    <form v-else class="schedule-form" @submit.prevent="submit">
      <label class="switch"><input type="checkbox" role="switch" v-model="draft.is_active"> Active</label>
      <label>Days <input v-model="draft.days_of_week" placeholder="mo tu we th fr (empty: every day)" :aria-invalid="!!problems.days_of_week" aria-describedby="days-problem"></label>
      <span id="days-problem" class="error-text">{{ problems.days_of_week }}</span>
      <label>Start <input v-model="draft.start_time" placeholder="HH:MM" size="6" :aria-invalid="!!problems.start_time"></label>
      <span class="error-text">{{ problems.start_time }}</span>
      <label>End <input v-model="draft.end_time" placeholder="HH:MM" size="6" :aria-invalid="!!problems.end_time"></label>
      <span class="error-text">{{ problems.end_time }}</span>
      <div class="button-row">
        <button type="submit" class="primary" :disabled="saving || Object.keys(problems).length > 0">Save</button>
        <button type="button" @click="editing = false">Cancel</button>
      </div>
    </form>
  </section>`,
};
