// The tasks of the job shown in the jobs view, kept live from the "/task" events.
import * as api from '../lib/api.js';
import { LiveCollection, isOlder } from '../lib/collection.js';
import { throttle } from '../lib/batcher.js';
import { onEvent } from '../lib/socket.js';
import { statusLabel } from '../lib/status.js';
import { onJobEvents } from './jobs.js';
import { notify } from './notifications.js';

let currentJobId = '';
const listeners = new Set();
const NOTIFY_INDIVIDUALLY = 10;

function prepare(task) {
  task.updatedMs = Date.parse(task.updated) || 0;
  task.sortName = (task.name || '').toLowerCase();
  task.workerName = task.worker ? task.worker.name : '';
  return task;
}

function apply(event, byId) {
  if (event.job_id !== currentJobId) return false;
  const existing = byId.get(event.id);
  if (!existing) return false; // new tasks only appear with a reload
  if (isOlder(event.updated, existing.updated)) return false;
  for (const field of ['name', 'updated', 'status', 'activity', 'steps_completed', 'steps_total']) {
    if (event[field] !== undefined) existing[field] = event[field];
  }
  // Events name the worker as {name, uuid}; task lists as {id, name, address}.
  if (event.worker) existing.worker = { id: event.worker.uuid, name: event.worker.name, address: '' };
  prepare(existing);
  return true;
}

function onBatch(events) {
  const messages = [];
  for (const event of events) {
    if (event.job_id !== currentJobId || !event.previous_status || event.previous_status === event.status) continue;
    messages.push(`Task “${event.name}”: ${statusLabel(event.previous_status)} ➜ ${statusLabel(event.status)}`);
  }
  if (messages.length > NOTIFY_INDIVIDUALLY) notify(`${messages.length} task changes, the last: ${messages.at(-1)}`);
  else for (const message of messages) notify(message);
  for (const listener of listeners) listener(events);
}

export const tasks = new LiveCollection({
  load: async () => {
    if (!currentJobId) return [];
    return (await api.fetchJobTasks(currentJobId)).tasks || [];
  },
  apply,
  prepare,
  onBatch,
});

export function onTaskEvents(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Shows the tasks of another job (or none, with an empty id). They are loaded
 * once the job's room is joined (see JobsView), and again after every rejoin. */
export function showTasksOf(jobId) {
  if (jobId === currentJobId) return;
  currentJobId = jobId;
  tasks.reset();
}

export function reloadTasksOf(jobId) {
  if (jobId && jobId === currentJobId) tasks.reload();
}

export function tasksJobId() {
  return currentJobId;
}

const reloadSoon = throttle(() => {
  if (currentJobId) tasks.reload();
}, 1000);

onEvent('/task', (event) => tasks.push(event));
// A change to many tasks at once is announced on the job instead of per task.
onJobEvents((events) => {
  if (events.some((event) => event.id === currentJobId && event.refresh_tasks)) reloadSoon();
});
