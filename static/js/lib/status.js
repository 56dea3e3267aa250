// Status names, their order, and which actions each status allows (as upstream's UI).

export const JOB_STATUSES = [
  'active', 'queued', 'pause-requested', 'paused', 'cancel-requested', 'requeueing',
  'completed', 'canceled', 'failed', 'under-construction',
];
export const TASK_STATUSES = ['active', 'queued', 'soft-failed', 'paused', 'completed', 'canceled', 'failed'];
export const WORKER_STATUSES = ['awake', 'asleep', 'starting', 'testing', 'restart', 'offline', 'error'];

export const FARM_STATUS_HINTS = {
  active: 'Actively working on a job.',
  idle: 'Workers are awake and ready for work, but there is nothing to do.',
  waiting: 'Work has been queued, but all Workers are asleep.',
  asleep: 'Nothing to do, and all Workers are asleep.',
  inoperative: 'No Worker can do work: there are none, or they are all offline or in trouble.',
  unknown: 'The farm is in a state that Flamenco does not recognise.',
  starting: 'The Manager has just started and is still finding out about the farm.',
};

export function statusLabel(status) {
  if (!status) return '';
  return status.replace(/-/g, ' ');
}

export const JOB_ACTIONS = {
  pause: {
    label: 'Pause',
    status: 'pause-requested',
    allowedFrom: ['active', 'canceled', 'queued'],
    done: 'marked for pausing',
  },
  cancel: {
    label: 'Cancel',
    status: 'cancel-requested',
    allowedFrom: ['active', 'failed', 'paused', 'pause-requested', 'queued'],
    done: 'marked for cancellation',
  },
  requeue: {
    label: 'Requeue',
    status: 'requeueing',
    allowedFrom: ['canceled', 'completed', 'failed', 'paused'],
    done: 'requeued',
  },
  delete: {
    label: 'Delete…',
    allowedFrom: ['canceled', 'completed', 'failed', 'paused', 'queued'],
    done: 'marked for deletion',
  },
};

export const TASK_ACTIONS = {
  cancel: { label: 'Cancel task', status: 'canceled', allowedFrom: ['active', 'queued', 'soft-failed'], done: 'cancelled' },
  requeue: { label: 'Requeue task', status: 'queued', allowedFrom: ['canceled', 'completed', 'failed'], done: 'requeued' },
};

export const WORKER_ACTIONS = [
  { key: 'offline-lazy', label: 'Shut down after current task', status: 'offline', lazy: true },
  { key: 'offline', label: 'Shut down immediately', status: 'offline', lazy: false },
  { key: 'restart-lazy', label: 'Restart after current task', status: 'restart', lazy: true, needsRestart: true },
  { key: 'restart', label: 'Restart immediately', status: 'restart', lazy: false, needsRestart: true },
  { key: 'asleep-lazy', label: 'Send to sleep after current task', status: 'asleep', lazy: true },
  { key: 'asleep', label: 'Send to sleep immediately', status: 'asleep', lazy: false },
  { key: 'awake', label: 'Wake up', status: 'awake', lazy: false },
];

export const REASON = 'requested from web interface';
