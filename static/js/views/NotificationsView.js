// Notifications: the configured webhooks and mail, and how each recent delivery went.
import { ref, onMounted, onUnmounted } from 'vue';
import * as api from '../lib/api.js';
import { relativeTime, absoluteTime } from '../lib/format.js';
import { notify, notifyError } from '../stores/notifications.js';

const REFRESH_SECONDS = 5;

export default {
  name: 'NotificationsView',
  setup() {
    const deliveries = ref([]);
    const destinations = ref([]);
    const loaded = ref(false);
    const error = ref('');
    let timer = null;

    async function load() {
      try {
        const answer = await api.fetchNotificationDeliveries();
        deliveries.value = answer.deliveries;
        destinations.value = answer.destinations;
        error.value = '';
      } catch (failure) {
        error.value = failure.message;
      } finally {
        loaded.value = true;
      }
    }

    async function retry(delivery) {
      try {
        await api.retryNotificationDelivery(delivery.id);
        notify(`Delivery ${delivery.id} will be tried again.`, 'success');
        await load();
      } catch (failure) {
        notifyError('Cannot retry the delivery', failure);
      }
    }

    // Deliveries change in the background (retries), so the list is refreshed while shown.
    onMounted(() => {
      load();
      timer = setInterval(load, REFRESH_SECONDS * 1000);
    });
    onUnmounted(() => clearInterval(timer));

    return { deliveries, destinations, loaded, error, retry, relativeTime, absoluteTime };
  },
  template: `<div class="page notifications-view" data-testid="notifications-view">
    <h1>Notifications</h1>
    <section class="card" aria-labelledby="destinations-heading">
      <h2 id="destinations-heading">Destinations</h2>
      <p v-if="loaded && !destinations.length" class="empty-state">
        No webhooks or mail configured. Add them under <code>notifications</code> in flamenco-manager.yaml.
      </p>
      <ul v-else class="destination-list">
        <li v-for="destination in destinations" :key="destination.name" :data-destination="destination.name">
          <strong>{{ destination.name }}</strong> ({{ destination.kind }}, {{ destination.format }}):
          {{ destination.events.length ? destination.events.join(', ') : 'every event' }}
        </li>
      </ul>
    </section>

    <p v-if="error" class="error-text" role="alert">Cannot load the deliveries: {{ error }}</p>
    <p v-else-if="!loaded" class="hint">Loading deliveries…</p>
    <p v-else-if="!deliveries.length" class="empty-state">Nothing has been sent yet.</p>
    <table v-else class="plain-table delivery-table" data-testid="delivery-table">
      <caption class="visually-hidden">Recent deliveries, newest first</caption>
      <thead><tr>
        <th scope="col">When</th><th scope="col">Event</th><th scope="col">Destination</th>
        <th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last error</th>
        <th scope="col"><span class="visually-hidden">Actions</span></th>
      </tr></thead>
      <tbody>
        <tr v-for="delivery in deliveries" :key="delivery.id" :data-delivery="delivery.id" :data-status="delivery.status">
          <td :title="absoluteTime(delivery.created)">{{ relativeTime(delivery.created) }}</td>
          <td>{{ delivery.summary || delivery.event }}</td>
          <td>{{ delivery.destination }}</td>
          <td class="delivery-status" :class="'delivery-' + delivery.status">
            {{ delivery.status }}
            <span v-if="delivery.status === 'pending' && delivery.next_attempt" class="hint">
              (next try {{ relativeTime(delivery.next_attempt) }})</span>
          </td>
          <td class="delivery-attempts">{{ delivery.attempts }}</td>
          <td class="delivery-error">{{ delivery.last_error }}</td>
          <td class="row-actions">
            <button v-if="delivery.status === 'failed'" type="button" @click="retry(delivery)"
              :aria-label="'Retry delivery ' + delivery.id">Retry</button>
          </td>
        </tr>
      </tbody>
    </table>
  </div>`,
};
