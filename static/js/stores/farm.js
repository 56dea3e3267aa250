// The Manager as a whole: its name and version, the farm status and alarms, the first-run flag.
import { reactive } from 'vue';
import * as api from '../lib/api.js';
import { onEvent, onReconnect } from '../lib/socket.js';
import { notify } from './notifications.js';

export const farm = reactive({
  name: '',
  version: '',
  status: '',
  // Our extension of the farm status report: problems that need an operator.
  alarms: [],
  configuration: null,
});

function applyReport(report) {
  farm.status = report.status;
  farm.alarms = Array.isArray(report.alarms) ? report.alarms : [];
}

let loadedVersion = null;

export async function loadFarm() {
  const status = api.getFarmStatus().catch(() => ({ status: 'unknown' }));
  const [version, configuration] = await Promise.all([api.getVersion(), api.getConfiguration()]);
  farm.name = version.name;
  farm.version = version.version;
  farm.configuration = configuration;
  loadedVersion = `${version.name}\n${version.version}`;
  document.title = version.name ? `${version.name} · Flamenco` : 'Flamenco';
  applyReport(await status);
}

/** An upgraded or renamed Manager may serve a different web interface: load it afresh. */
async function reloadIfManagerChanged() {
  try {
    const version = await api.getVersion();
    if (loadedVersion && `${version.name}\n${version.version}` !== loadedVersion) {
      window.location.reload();
      return;
    }
    applyReport(await api.getFarmStatus());
  } catch {
    // Still restarting; the next reconnect will check again.
  }
}

export function followFarm() {
  onEvent('/status', applyReport);
  onEvent('/lifecycle', (event) => {
    if (event.type === 'manager-shutdown') notify('The Manager is shutting down.', 'warning');
    if (event.type === 'manager-startup') {
      notify('The Manager has started.');
      reloadIfManagerChanged();
    }
  });
  onReconnect(reloadIfManagerChanged);
}
