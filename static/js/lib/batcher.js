// Collects live updates and hands them over in one batch per animation frame,
// so that a burst of events costs one re-render instead of hundreds.

const FALLBACK_DELAY_MS = 250; // animation frames pause in background tabs

export function createBatcher(apply) {
  let queue = [];
  let frame = 0;
  let timer = 0;

  function flush() {
    cancelAnimationFrame(frame);
    clearTimeout(timer);
    frame = 0;
    timer = 0;
    const batch = queue;
    queue = [];
    if (batch.length) apply(batch);
  }

  return {
    push(item) {
      queue.push(item);
      if (!frame) {
        frame = requestAnimationFrame(flush);
        timer = setTimeout(flush, FALLBACK_DELAY_MS);
      }
    },
    flush,
    clear() {
      queue = [];
    },
  };
}

/** Calls `fn` at most once per `interval` ms, always running the last call. */
export function throttle(fn, interval) {
  let last = 0;
  let timer = 0;
  let pendingArgs = null;
  return (...args) => {
    pendingArgs = args;
    const wait = last + interval - Date.now();
    if (wait <= 0 && !timer) {
      last = Date.now();
      fn(...pendingArgs);
      return;
    }
    if (!timer) {
      timer = setTimeout(() => {
        timer = 0;
        last = Date.now();
        fn(...pendingArgs);
      }, Math.max(wait, 0));
    }
  };
}
