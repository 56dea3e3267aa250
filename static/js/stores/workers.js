// Every Worker, kept live from the "/workers" events.
import * as api from '../lib/api.js';
import { LiveCollection, isOlder } from '../lib/collection.js';
import { onEvent, subscribe } from '../lib/socket.js';
import { statusLabel } from '../lib/status.js';
import { notify } from './notifications.js';

const listeners = new Set();

function prepare(worker) {
  worker.sortName = (worker.name || '').toLowerCase();
  worker.lastSeenMs = Date.parse(worker.last_seen) || 0;
  return worker;
}

function apply(event, byId) {
  if (event.deleted_at) return byId.delete(event.id);
  const existing = byId.get(event.id);
  if (existing && isOlder(event.updated, existing.updated)) return false;
  const worker = existing || { id: event.id };
  for (const [key, value] of Object.entries(event)) {
    if (key !== 'previous_status') worker[key] = value;
  }
  // No status_change in the event means the request was fulfilled or withdrawn.
  if (!event.status_change) delete worker.status_change;
  byId.set(event.id, prepare(worker));
  return true;
}

function onBatch(events) {
  for (const event of events) {
    if (event.deleted_at) notify(`Worker ${event.name || event.id} was removed`);
    else if (event.previous_status && event.previous_status !== event.status) {
      notify(`Worker ${event.name}: ${statusLabel(event.previous_status)} ➜ ${statusLabel(event.status)}`);
    }
  }
  for (const listener of listeners) listener(events);
}

export const workers = new LiveCollection({
  load: async () => (await api.fetchWorkers()).workers || [],
  apply,
  prepare,
  onBatch,
});

export function onWorkerEvents(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

let following = false;

export function followWorkers() {
  if (following) return;
  following = true;
  onEvent('/workers', (event) => workers.push(event));
  subscribe('allWorkers', '', () => workers.reload());
}
