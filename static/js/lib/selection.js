// Multi-selection of table rows: click, Shift-click for a range, Ctrl/Cmd-click to toggle.
import { shallowReactive } from 'vue';

export function createSelection() {
  const state = shallowReactive({
    ids: new Set(),
    anchor: '', // where a Shift range starts
    active: '', // the row whose details are shown, and the keyboard cursor
    version: 0,
  });

  function changed() {
    state.version += 1;
  }

  return {
    state,
    has: (id) => state.ids.has(id),
    get size() {
      return state.ids.size;
    },
    get active() {
      return state.active;
    },
    ids: () => [...state.ids],

    /** rows: the rows in their current on-screen order. */
    click(rows, id, { shift = false, toggle = false } = {}) {
      if (shift && state.anchor) {
        const from = rows.findIndex((row) => row.id === state.anchor);
        const to = rows.findIndex((row) => row.id === id);
        if (from >= 0 && to >= 0) {
          const range = rows.slice(Math.min(from, to), Math.max(from, to) + 1).map((row) => row.id);
          state.ids = new Set(toggle ? [...state.ids, ...range] : range);
          state.active = id;
          changed();
          return;
        }
      }
      if (toggle) {
        const ids = new Set(state.ids);
        if (ids.has(id)) ids.delete(id);
        else ids.add(id);
        state.ids = ids;
        state.active = ids.has(id) ? id : [...ids].at(-1) || '';
      } else {
        state.ids = new Set([id]);
        state.active = id;
      }
      state.anchor = id;
      changed();
    },

    /** Selects exactly one row, or none with an empty id (used when following the URL). */
    only(id) {
      if (state.ids.size === (id ? 1 : 0) && (!id || state.ids.has(id)) && state.active === id) return;
      state.ids = new Set(id ? [id] : []);
      state.active = id;
      state.anchor = id;
      changed();
    },

    selectAll(rows) {
      state.ids = new Set(rows.map((row) => row.id));
      if (!state.ids.has(state.active)) state.active = rows[0]?.id || '';
      changed();
    },

    selectMany(ids) {
      state.ids = new Set(ids);
      changed();
    },

    clear() {
      state.ids = new Set();
      state.active = '';
      state.anchor = '';
      changed();
    },

    /** Drops rows that no longer exist, such as deleted jobs. */
    prune(exists) {
      const kept = [...state.ids].filter(exists);
      if (kept.length === state.ids.size) return;
      state.ids = new Set(kept);
      if (!state.ids.has(state.active)) state.active = '';
      changed();
    },
  };
}
