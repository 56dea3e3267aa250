// A job's frames at a glance: one cell per frame (or per run of frames in a big job),
// coloured by what is on disk, a thumbnail on hover, and a button to re-render the
// missing and broken ones.
import { ref, computed, watch, onBeforeUnmount } from 'vue';
import * as api from '../../lib/api.js';
import { throttle } from '../../lib/batcher.js';
import { onJobEvents } from '../../stores/jobs.js';
import { notify, notifyError } from '../../stores/notifications.js';

// More frames than this share cells; a cell shows the worst state among its frames.
const MAX_CELLS = 600;
const WORST_FIRST = ['broken', 'missing', 'rendering', 'waiting', 'rendered'];
const LABELS = { rendered: 'rendered', missing: 'missing', broken: 'broken', rendering: 'rendering', waiting: 'waiting' };
const HOVER_DELAY_MS = 150;

function cellsOf(frames) {
  const perCell = Math.max(1, Math.ceil(frames.length / MAX_CELLS));
  const cells = [];
  for (let start = 0; start < frames.length; start += perCell) {
    const group = frames.slice(start, start + perCell);
    const state = WORST_FIRST.find((candidate) => group.some((frame) => frame.state === candidate)) || 'rendered';
    const shown = group.find((frame) => frame.state === state);
    const first = group[0].frame;
    const last = group[group.length - 1].frame;
    const label = first === last ? `Frame ${first}` : `Frames ${first}–${last}`;
    const problem = shown && shown.problem ? `: ${shown.problem}` : '';
    const warned = group.find((frame) => frame.warning);
    const warning = warned ? ` (warning: frame ${warned.frame}: ${warned.warning})` : '';
    cells.push({
      key: first,
      state,
      warning: Boolean(warned),
      label: `${label}: ${LABELS[state]}${problem}${warning}`,
      // The thumbnail shows a rendered frame of the cell.
      thumbnailFrame: (group.find((frame) => frame.state === 'rendered') || {}).frame,
    });
  }
  return cells;
}

export default {
  name: 'FrameStrip',
  props: { jobId: { type: String, required: true } },
  setup(props) {
    const frames = ref(null);
    const counts = ref({});
    const warnings = ref(0);
    const error = ref('');
    const busy = ref(false);
    const hovered = ref(null);
    const version = ref(Date.now());
    let generation = 0;
    let hoverTimer = 0;

    async function load() {
      const current = ++generation;
      try {
        const answer = await api.fetchJobFrames(props.jobId);
        if (current !== generation) return;
        frames.value = answer.frames;
        counts.value = answer.counts;
        warnings.value = answer.warnings || 0;
        version.value = Date.now();
        error.value = '';
      } catch (failure) {
        if (current !== generation) return;
        frames.value = null;
        error.value = failure.message;
      }
    }
    // Checking a big job's frames takes a moment: at most one check every two seconds.
    const refreshSoon = throttle(load, 2000);
    watch(() => props.jobId, () => { frames.value = null; load(); }, { immediate: true });
    const stopJobEvents = onJobEvents((events) => {
      if (events.some((event) => event.id === props.jobId && !event.was_deleted)) refreshSoon();
    });
    onBeforeUnmount(() => {
      stopJobEvents();
      clearTimeout(hoverTimer);
    });

    const cells = computed(() => (frames.value ? cellsOf(frames.value) : []));
    const badFrames = computed(() => (counts.value.missing || 0) + (counts.value.broken || 0));
    const summary = computed(() => {
      const parts = WORST_FIRST.slice().reverse()
        .filter((state) => counts.value[state])
        .map((state) => `${counts.value[state]} ${LABELS[state]}`);
      if (warnings.value) parts.push(`${warnings.value} warning${warnings.value === 1 ? '' : 's'}`);
      return parts.join(' · ');
    });

    function enter(cell, event) {
      clearTimeout(hoverTimer);
      if (cell.thumbnailFrame === undefined) {
        hovered.value = { label: cell.label, url: '', left: event.target.offsetLeft };
        return;
      }
      const left = event.target.offsetLeft;
      hoverTimer = setTimeout(() => {
        const url = `/api/v3/jobs/${encodeURIComponent(props.jobId)}/frames/${cell.thumbnailFrame}/thumbnail?v=${version.value}`;
        hovered.value = { label: cell.label, url, left };
      }, HOVER_DELAY_MS);
    }
    function leave() {
      clearTimeout(hoverTimer);
      hovered.value = null;
    }

    async function rerender() {
      busy.value = true;
      try {
        const answer = await api.rerenderMissingFrames(props.jobId);
        if (!answer.tasks.length) {
          notify('Nothing to re-render: every finished frame is there and whole.', 'info');
        } else {
          const frameCount = answer.frames.length;
          notify(`Re-rendering ${frameCount} frame${frameCount === 1 ? '' : 's'}: ${answer.tasks.length} task${answer.tasks.length === 1 ? '' : 's'} queued again.`, 'success');
        }
        load();
      } catch (failure) {
        notifyError('Cannot re-render the missing frames', failure);
      } finally {
        busy.value = false;
      }
    }

    return { frames, cells, counts, summary, error, busy, hovered, badFrames, enter, leave, rerender };
  },
  template: `<section v-if="error || (frames && frames.length)" class="frame-strip" aria-label="Frames" data-testid="frame-strip">
    <p v-if="error" class="error-text" role="alert">{{ error }}</p>
    <template v-else>
      <div class="frame-strip-heading">
        <span class="frame-summary" data-testid="frame-summary">{{ summary }}</span>
        <button type="button" :disabled="busy || !badFrames" @click="rerender" data-testid="rerender-missing"
          :title="badFrames ? 'Queue the tasks of the missing and broken frames again' : 'No frame is missing or broken'">Re-render missing frames</button>
      </div>
      <div class="frame-cells" role="list" @mouseleave="leave">
        <span v-for="cell in cells" :key="cell.key" role="listitem" :class="['frame-cell', 'frame-' + cell.state, { 'frame-warning': cell.warning }]"
          :title="cell.label" :aria-label="cell.label" :data-state="cell.state" :data-warning="cell.warning ? 'yes' : null" @mouseenter="enter(cell, $event)"></span>
        <div v-if="hovered" class="frame-preview" :style="{ left: hovered.left + 'px' }" data-testid="frame-preview">
          <img v-if="hovered.url" :src="hovered.url" :alt="'Thumbnail of ' + hovered.label">
          <span>{{ hovered.label }}</span>
        </div>
      </div>
    </template>
  </section>`,
};
