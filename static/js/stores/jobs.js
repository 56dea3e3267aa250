// Every job on the farm, kept live from the "/jobs" events.
import * as api from '../lib/api.js';
import { LiveCollection, isOlder } from '../lib/collection.js';
import { onEvent, subscribe } from '../lib/socket.js';
import { statusLabel } from '../lib/status.js';
import { notify } from './notifications.js';

const NOT_JOB_FIELDS = new Set(['previous_status', 'refresh_tasks', 'was_deleted']);
const NOTIFY_INDIVIDUALLY = 10;

const listeners = new Set();

function prepare(job) {
  job.updatedMs = Date.parse(job.updated) || 0;
  job.sortName = (job.name || '').toLowerCase();
  return job;
}

function apply(event, byId) {
  if (event.was_deleted) return byId.delete(event.id);
  const existing = byId.get(event.id);
  if (existing && isOlder(event.updated, existing.updated)) return false;
  const job = existing || { id: event.id };
  for (const [key, value] of Object.entries(event)) {
    if (!NOT_JOB_FIELDS.has(key)) job[key] = value;
  }
  byId.set(event.id, prepare(job));
  return true;
}

function describe(event) {
  const name = event.name ? `“${event.name}”` : event.id;
  if (event.was_deleted) return `Job ${event.id} was deleted`;
  if (!event.previous_status) return `New job ${name} (${statusLabel(event.status)})`;
  if (event.previous_status !== event.status) {
    return `Job ${name}: ${statusLabel(event.previous_status)} ➜ ${statusLabel(event.status)}`;
  }
  return '';
}

function onBatch(events) {
  const messages = events.map(describe).filter(Boolean);
  if (messages.length > NOTIFY_INDIVIDUALLY) {
    notify(`${messages.length} job changes, the last: ${messages[messages.length - 1]}`);
  } else {
    for (const message of messages) notify(message);
  }
  for (const listener of listeners) listener(events);
}

export const jobs = new LiveCollection({ load: async () => (await api.fetchJobs()).jobs, apply, prepare, onBatch });

/** Called with every batch of job events, after the collection has been updated. */
export function onJobEvents(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

let following = false;

/** Subscribes to all job events; stays subscribed for the rest of the session. */
export function followJobs() {
  if (following) return;
  following = true;
  onEvent('/jobs', (event) => jobs.push(event));
  subscribe('allJobs', '', () => jobs.reload());
}
