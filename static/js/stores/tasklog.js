// The log of one task: its tail over HTTP, then new lines as they are written.
import { reactive } from 'vue';
import * as api from '../lib/api.js';
import { onEvent, subscribe } from '../lib/socket.js';

export const taskLog = reactive({ taskId: '', loading: false, error: '', empty: true });

const sinks = new Set(); // {reset(text), append(text)}
let unsubscribe = null;
let buffered = null;
let generation = 0;

function emit(kind, text) {
  for (const sink of sinks) sink[kind](text);
}

onEvent('/tasklog', (event) => {
  if (event.task_id !== taskLog.taskId || !event.log) return;
  if (buffered) buffered.push(event.log);
  else {
    taskLog.empty = false;
    emit('append', event.log);
  }
});

async function loadTail() {
  const current = ++generation;
  buffered = [];
  taskLog.loading = true;
  try {
    const tail = (await api.fetchTaskLogTail(taskLog.taskId)) || '';
    if (current !== generation) return;
    const text = tail + buffered.join('');
    taskLog.error = '';
    taskLog.empty = !text;
    emit('reset', text);
  } catch (error) {
    if (current !== generation) return;
    taskLog.error = error.message;
    emit('reset', '');
  } finally {
    if (current === generation) {
      buffered = null;
      taskLog.loading = false;
    }
  }
}

/** Follows the log of this task (or none); returns nothing, call again to switch. */
export function followTaskLog(taskId) {
  if (taskId === taskLog.taskId) return;
  unsubscribe?.();
  unsubscribe = null;
  taskLog.taskId = taskId;
  taskLog.empty = true;
  emit('reset', '');
  if (!taskId) {
    generation += 1;
    return;
  }
  taskLog.loading = true;
  unsubscribe = subscribe('tasklog', taskId, loadTail);
}

export function addLogSink(sink) {
  sinks.add(sink);
  return () => sinks.delete(sink);
}
