// Toggle buttons that limit a table to some statuses, with a count per status.
import { statusLabel } from '../lib/status.js';
import { statusDot } from './status.js';
import { h } from 'vue';

export default {
  name: 'StatusFilter',
  props: {
    statuses: { type: Array, required: true },
    counts: { type: Object, required: true }, // status -> number
    modelValue: { type: Set, required: true }, // statuses shown; empty = all
    label: { type: String, default: 'Show only' },
  },
  emits: ['update:modelValue'],
  setup(props, { emit }) {
    function toggle(status) {
      const next = new Set(props.modelValue);
      if (next.has(status)) next.delete(status);
      else next.add(status);
      emit('update:modelValue', next);
    }
    return () =>
      h('div', { class: 'status-filter', role: 'group', 'aria-label': props.label }, [
        ...props.statuses
          .filter((status) => props.counts[status] || props.modelValue.has(status))
          .map((status) =>
            h(
              'button',
              {
                type: 'button',
                class: 'chip',
                'aria-pressed': props.modelValue.has(status) ? 'true' : 'false',
                title: `Show only ${statusLabel(status)}`,
                onClick: () => toggle(status),
              },
              [statusDot(status), `${statusLabel(status)} `, h('span', { class: 'chip-count' }, String(props.counts[status] || 0))],
            ),
          ),
        props.modelValue.size
          ? h('button', { type: 'button', class: 'chip chip-clear', onClick: () => emit('update:modelValue', new Set()) }, 'Show all')
          : null,
      ]);
  },
};
