// The audit log: who changed what while access control is on (administrators only).
import { onMounted, ref } from 'vue';
import { fetchAuditLog } from '../lib/api.js';
import { absoluteTime } from '../lib/format.js';

export default {
  name: 'AuditView',
  setup() {
    const entries = ref([]);
    const problem = ref('');
    const more = ref(false);
    async function load(before) {
      try {
        const page = await fetchAuditLog(before);
        entries.value = before ? [...entries.value, ...page.entries] : page.entries;
        more.value = page.entries.length > 0;
      } catch (error) {
        problem.value = error.message;
      }
    }
    const older = () => load(entries.value[entries.value.length - 1].id);
    const describe = (detail) => Object.entries(detail).map(([key, value]) => `${key}: ${JSON.stringify(value)}`).join(', ');
    onMounted(() => load());
    return { entries, problem, more, older, describe, absoluteTime };
  },
  template: `<section class="audit-view" data-testid="audit-view">
    <h1>Audit log</h1>
    <p v-if="problem" class="banner error" role="alert">Cannot load the audit log: {{ problem }}</p>
    <p v-else-if="!entries.length" class="empty-state">No changes recorded yet.</p>
    <table v-else class="audit-table">
      <thead><tr><th>When</th><th>Who</th><th>From</th><th>What</th><th>Of</th><th>Details</th></tr></thead>
      <tbody>
        <tr v-for="entry in entries" :key="entry.id">
          <td>{{ absoluteTime(entry.time) }}</td><td>{{ entry.who }}</td><td>{{ entry.address }}</td>
          <td>{{ entry.operation }}</td><td>{{ entry.subject }}</td><td>{{ describe(entry.detail) }}</td>
        </tr>
      </tbody>
    </table>
    <button v-if="more && entries.length" type="button" @click="older">Older</button>
  </section>`,
};
