// A table that renders only the rows in view, so 10,000 rows scroll smoothly.
// Rows are plain objects; pass `revision` so the table re-renders when they change.
// Keyboard: arrows, Page Up/Down, Home/End move (Shift extends the selection),
// Space toggles, Ctrl+A selects all, Escape clears.
import { h, ref, computed, onMounted, onBeforeUnmount, watch, nextTick } from 'vue';

const OVERSCAN = 8;
let tableCounter = 0;

// A column with `fit: true` is as wide as its widest value and its heading (with room
// for the sort arrow), measured in the table's own fonts: each row is a grid of its own,
// so the content cannot size the column. Beyond this many rem it is cut off after all.
const MAX_FIT_REM = 20;
const SORT_ARROW = ' ▾';
let measuring = null;
let measuringFont = '';
const measuredWidths = new Map(); // font + text -> px

function textWidth(text, font) {
  const key = `${font}\n${text}`;
  let width = measuredWidths.get(key);
  if (width === undefined) {
    measuring ??= document.createElement('canvas').getContext('2d');
    if (measuringFont !== font) {
      measuring.font = font;
      measuringFont = font;
    }
    width = measuring.measureText(text).width;
    if (measuredWidths.size > 10_000) measuredWidths.clear();
    measuredWidths.set(key, width);
  }
  return width;
}

function fontOf(element) {
  const style = getComputedStyle(element);
  return {
    cell: `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`,
    // Matches .vt-header's weight.
    header: `${style.fontStyle} 600 ${style.fontSize} ${style.fontFamily}`,
    padding: parseFloat(style.fontSize), // .vt-cell has 0.5em on either side
    rem: parseFloat(getComputedStyle(document.documentElement).fontSize),
  };
}

/** The text of a fit column's cell: what it shows, and what is measured. */
function cellText(column, row) {
  return String(row[column.key] ?? '');
}

function fitWidth(column, rows, font) {
  let widest = textWidth(column.label + SORT_ARROW, font.header);
  const seen = new Set();
  let longestNumber = 0;
  for (const row of rows) {
    const value = row[column.key];
    // Digits are all as wide as each other (.cell-number uses tabular figures), so for
    // numbers only the count matters: 10,000 tasks are not 10,000 measurements.
    if (typeof value === 'number') {
      longestNumber = Math.max(longestNumber, String(value).length);
      continue;
    }
    const text = cellText(column, row);
    if (seen.has(text)) continue;
    seen.add(text);
    widest = Math.max(widest, textWidth(text, font.cell));
  }
  if (longestNumber) widest = Math.max(widest, textWidth('0'.repeat(longestNumber), font.cell));
  // One pixel more than the text, so that rounding never cuts off its last letter.
  return Math.ceil(Math.min(widest + font.padding, MAX_FIT_REM * font.rem)) + 1;
}

export default {
  name: 'VirtualTable',
  props: {
    columns: { type: Array, required: true },
    rows: { type: Array, required: true },
    revision: { type: Number, default: 0 },
    selection: { type: Object, required: true },
    sort: { type: Object, default: null }, // reactive {key, descending}
    label: { type: String, required: true },
    rowHeight: { type: Number, default: 34 },
    rowClass: { type: Function, default: null },
    emptyText: { type: String, default: 'Nothing to show.' },
  },
  setup(props, { slots }) {
    const tableId = `vt${++tableCounter}`;
    const scroller = ref(null);
    const scrollTop = ref(0);
    const viewportHeight = ref(400);
    const font = ref(null);
    let resizeObserver = null;
    let scrollFrame = 0;

    // The text grows on wall monitors, so the fonts are read again when the table resizes.
    function readFont() {
      const current = fontOf(scroller.value);
      const known = font.value;
      if (!known || known.cell !== current.cell || known.rem !== current.rem) font.value = current;
    }

    onMounted(() => {
      resizeObserver = new ResizeObserver(() => {
        if (!scroller.value) return;
        viewportHeight.value = scroller.value.clientHeight;
        readFont();
      });
      resizeObserver.observe(scroller.value);
      viewportHeight.value = scroller.value.clientHeight;
      readFont();
    });

    const fitWidths = computed(() => {
      void props.revision;
      const widths = new Map();
      if (!font.value) return widths;
      for (const column of props.columns) {
        if (column.fit) widths.set(column.key, fitWidth(column, props.rows, font.value));
      }
      return widths;
    });

    function columnWidth(column) {
      const fitted = fitWidths.value.get(column.key);
      if (fitted !== undefined) return `${fitted}px`;
      return column.width || 'minmax(0, 1fr)';
    }
    onBeforeUnmount(() => {
      resizeObserver?.disconnect();
      cancelAnimationFrame(scrollFrame);
    });

    function onScroll() {
      if (scrollFrame) return;
      scrollFrame = requestAnimationFrame(() => {
        scrollFrame = 0;
        if (scroller.value) scrollTop.value = scroller.value.scrollTop;
      });
    }

    function scrollToIndex(index) {
      const element = scroller.value;
      if (!element || index < 0) return;
      const top = index * props.rowHeight;
      if (top < element.scrollTop) element.scrollTop = top;
      else if (top + props.rowHeight > element.scrollTop + element.clientHeight) {
        element.scrollTop = top + props.rowHeight - element.clientHeight;
      }
      scrollTop.value = element.scrollTop;
    }

    // Keep the active row in view when it is chosen from elsewhere (say, the URL).
    watch(
      () => [props.selection.state.active, props.rows.length > 0],
      async ([active]) => {
        if (!active) return;
        await nextTick();
        scrollToIndex(props.rows.findIndex((row) => row.id === active));
      },
    );

    function onRowClick(event, row) {
      props.selection.click(props.rows, row.id, {
        shift: event.shiftKey,
        toggle: event.ctrlKey || event.metaKey,
      });
      if (event.shiftKey) window.getSelection()?.removeAllRanges();
    }

    function onKeyDown(event) {
      const rows = props.rows;
      if (!rows.length) return;
      const selection = props.selection;
      const current = rows.findIndex((row) => row.id === selection.state.active);
      const page = Math.max(1, Math.floor(viewportHeight.value / props.rowHeight) - 1);
      let target = null;
      switch (event.key) {
        case 'ArrowDown': target = current < 0 ? 0 : current + 1; break;
        case 'ArrowUp': target = current < 0 ? 0 : current - 1; break;
        case 'PageDown': target = current + page; break;
        case 'PageUp': target = current - page; break;
        case 'Home': target = 0; break;
        case 'End': target = rows.length - 1; break;
        case ' ':
          if (current >= 0) selection.click(rows, rows[current].id, { toggle: true });
          event.preventDefault();
          return;
        case 'a':
        case 'A':
          if (event.ctrlKey || event.metaKey) {
            selection.selectAll(rows);
            event.preventDefault();
          }
          return;
        case 'Escape':
          selection.clear();
          return;
        default:
          return;
      }
      event.preventDefault();
      target = Math.min(rows.length - 1, Math.max(0, target));
      selection.click(rows, rows[target].id, { shift: event.shiftKey });
      scrollToIndex(target);
    }

    function headerCell(column) {
      const sortable = props.sort && column.sortKey;
      const sorted = sortable && props.sort.key === column.sortKey;
      const ariaSort = sorted ? (props.sort.descending ? 'descending' : 'ascending') : undefined;
      const content = sortable
        ? h(
            'button',
            {
              type: 'button',
              class: 'vt-sort',
              onClick: () => {
                if (sorted) props.sort.descending = !props.sort.descending;
                else {
                  props.sort.key = column.sortKey;
                  props.sort.descending = !!column.descendingFirst;
                }
              },
            },
            [column.label, sorted ? h('span', { 'aria-hidden': 'true' }, props.sort.descending ? ' ▾' : ' ▴') : null],
          )
        : column.label;
      return h('div', { role: 'columnheader', class: ['vt-cell', column.class], 'aria-sort': ariaSort }, content);
    }

    return () => {
      void props.revision;
      void props.selection.state.version;
      const rows = props.rows;
      const rowHeight = props.rowHeight;
      const template = props.columns.map(columnWidth).join(' ');
      const first = Math.max(0, Math.floor(scrollTop.value / rowHeight) - OVERSCAN);
      const last = Math.min(rows.length, Math.ceil((scrollTop.value + viewportHeight.value) / rowHeight) + OVERSCAN);
      const active = props.selection.state.active;
      const renderedRows = [];
      for (let index = first; index < last; index += 1) {
        const row = rows[index];
        const selected = props.selection.has(row.id);
        renderedRows.push(
          h(
            'div',
            {
              key: row.id,
              id: `${tableId}-${row.id}`,
              role: 'row',
              'aria-rowindex': index + 2,
              'aria-selected': selected ? 'true' : 'false',
              'data-id': row.id,
              class: ['vt-row', { selected, active: row.id === active }, props.rowClass?.(row)],
              style: { gridTemplateColumns: template, height: `${rowHeight}px` },
              onClick: (event) => onRowClick(event, row),
            },
            props.columns.map((column) => {
              if (column.cell) return h('div', { role: 'gridcell', class: ['vt-cell', column.class] }, column.cell(row));
              const text = cellText(column, row);
              // A fit column's text is cut off only beyond its widest allowed; the title has it all.
              const title = column.fit && typeof row[column.key] !== 'number' ? text : undefined;
              return h('div', { role: 'gridcell', class: ['vt-cell', column.class], title }, text);
            }),
          ),
        );
      }
      const activeRendered = active && rows.findIndex((row) => row.id === active);
      return h(
        'div',
        {
          class: 'vt',
          role: 'grid',
          'aria-label': props.label,
          'aria-rowcount': rows.length + 1,
          'aria-multiselectable': 'true',
          'aria-activedescendant': activeRendered >= first && activeRendered < last ? `${tableId}-${active}` : undefined,
          tabindex: 0,
          onKeydown: onKeyDown,
        },
        [
          h('div', { role: 'rowgroup', class: 'vt-head' }, [
            h('div', { role: 'row', 'aria-rowindex': 1, class: 'vt-row vt-header', style: { gridTemplateColumns: template } }, props.columns.map(headerCell)),
          ]),
          h('div', { ref: scroller, class: 'vt-scroller', role: 'rowgroup', onScroll }, [
            rows.length === 0
              ? h('div', { class: 'vt-empty' }, slots.empty ? slots.empty() : props.emptyText)
              : h('div', { class: 'vt-spacer', style: { height: `${rows.length * rowHeight}px` } }, [
                  h('div', { class: 'vt-rows', style: { transform: `translateY(${first * rowHeight}px)` } }, renderedRows),
                ]),
          ]),
        ],
      );
    };
  },
};
