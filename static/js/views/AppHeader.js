// The header: Manager name, navigation, farm status, links, version.
import { computed } from 'vue';
import { RouterLink } from '../lib/router.js';
import { apiActivity } from '../lib/api.js';
import { connection } from '../lib/socket.js';
import { FARM_STATUS_HINTS, statusLabel } from '../lib/status.js';
import { farm } from '../stores/farm.js';

export default {
  name: 'AppHeader',
  components: { RouterLink },
  setup() {
    const statusHint = computed(() => FARM_STATUS_HINTS[farm.status] || '');
    return { farm, apiActivity, connection, statusHint, statusLabel };
  },
  template: `<header class="app-header">
    <RouterLink to="/jobs" class="brand" aria-label="Flamenco: go to the jobs">
      <img src="favicon.svg" alt="" width="22" height="22"><span>{{ farm.name || 'Flamenco' }}</span>
    </RouterLink>
    <nav class="main-nav" aria-label="Main">
      <RouterLink to="/jobs">Jobs</RouterLink>
      <RouterLink to="/workers">Workers</RouterLink>
      <RouterLink to="/tags">Tags</RouterLink>
      <RouterLink to="/last-rendered">Last Rendered</RouterLink>
      <RouterLink to="/notifications">Notifications</RouterLink>
      <RouterLink to="/settings">Settings</RouterLink>
    </nav>
    <span class="farm-status" :class="'farm-' + farm.status" :title="statusHint" role="status" data-testid="farm-status">
      Farm: <strong>{{ statusLabel(farm.status) || '…' }}</strong>
      <span class="visually-hidden">. {{ statusHint }}</span>
    </span>
    <span v-if="!connection.connected" class="connection-lost" role="status">
      {{ connection.everConnected ? 'Connection lost, reconnecting…' : 'Connecting…' }}
    </span>
    <span class="api-spinner" :class="{ busy: apiActivity.inFlight > 0 }" role="status"
      :aria-label="apiActivity.inFlight ? 'Loading' : ''"></span>
    <span class="header-links">
      <a href="/flamenco-addon.zip" download title="Download the Blender add-on for submitting jobs">Add-on</a>
      <a href="/api/v3/swagger-ui/" target="_blank" rel="noopener" title="The Manager's API, to explore and try out">API</a>
      <span class="version" title="Manager version">{{ farm.version }}</span>
    </span>
  </header>`,
};
