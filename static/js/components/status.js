// Status dots and step progress bars, as components and as table-cell renderers.
import { h } from 'vue';
import { statusLabel } from '../lib/status.js';

export function progressBar(completed, total, label) {
  const percent = total > 0 ? Math.min(100, Math.round((completed / total) * 100)) : 0;
  return h(
    'span',
    {
      class: 'progress',
      role: 'progressbar',
      'aria-valuemin': 0,
      'aria-valuemax': total || 0,
      'aria-valuenow': completed || 0,
      'aria-label': label || 'Steps completed',
      title: total ? `${completed} of ${total} steps (${percent} %)` : 'No steps reported yet',
    },
    h('span', { class: 'progress-fill', style: { width: `${percent}%` } }),
  );
}

export function statusDot(status) {
  return h('span', { class: ['status-dot', `status-${status}`], 'aria-hidden': 'true' });
}

/** Status text with a coloured dot and, for jobs and tasks, a step progress bar. */
export function statusCell(record, { progress = true } = {}) {
  return h('span', { class: 'status-cell' }, [
    h('span', { class: 'status-line' }, [statusDot(record.status), h('span', { class: 'status-text' }, statusLabel(record.status))]),
    progress ? progressBar(record.steps_completed || 0, record.steps_total || 0) : null,
  ]);
}

export const StatusBadge = {
  name: 'StatusBadge',
  props: { status: { type: String, required: true } },
  setup(props) {
    return () => h('span', { class: ['status-badge', `status-${props.status}`] }, [statusDot(props.status), statusLabel(props.status)]);
  },
};
