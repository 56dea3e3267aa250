// Messages for the person at the screen: the latest in the footer bar, the rest in a history.
import { reactive, shallowRef, triggerRef } from 'vue';

const HISTORY_LIMIT = 1000;
const BAR_SECONDS = 5;

/** Newest first; a shallow ref, so thousands of messages cost one update each. */
export const history = shallowRef([]);
export const bar = reactive({ message: null, visible: false });

let nextId = 1;
let hideTimer = 0;

/** level: "info", "success", "warning" or "error". */
export function notify(text, level = 'info') {
  const message = { id: nextId++, text, level, time: new Date() };
  const list = history.value;
  list.unshift(message);
  if (list.length > HISTORY_LIMIT) list.length = HISTORY_LIMIT;
  triggerRef(history);
  bar.message = message;
  bar.visible = true;
  clearTimeout(hideTimer);
  hideTimer = setTimeout(() => {
    bar.visible = false;
  }, (level === 'error' ? 3 : 1) * BAR_SECONDS * 1000);
  return message;
}

export function notifyError(prefix, error) {
  return notify(`${prefix}: ${error.message || error}`, 'error');
}

export function clearHistory() {
  history.value = [];
}
