// Client-side routes under /app/, kept in the address bar so views can be bookmarked.
import { reactive, h } from 'vue';

const PREFIX = '/app';

export const route = reactive({ name: 'jobs', params: {}, path: '/' });

const patterns = [
  ['jobs', /^\/jobs(?:\/([^/]+))?(?:\/([^/]+))?\/?$/, ['jobId', 'taskId']],
  ['workers', /^\/workers(?:\/([^/]+))?\/?$/, ['workerId']],
  ['tags', /^\/tags\/?$/, []],
  ['last-rendered', /^\/last-rendered\/?$/, []],
  ['settings', /^\/settings\/?$/, []],
  ['notifications', /^\/notifications\/?$/, []],
  ['setup', /^\/setup-assistant\/?$/, []],
];

function parse() {
  let path = window.location.pathname;
  if (path.startsWith(PREFIX)) path = path.slice(PREFIX.length);
  if (!path || path === '/') path = '/jobs';
  route.path = path;
  for (const [name, pattern, keys] of patterns) {
    const match = pattern.exec(path);
    if (!match) continue;
    const params = {};
    keys.forEach((key, index) => {
      params[key] = match[index + 1] ? decodeURIComponent(match[index + 1]) : '';
    });
    route.name = name;
    route.params = params;
    return;
  }
  route.name = 'not-found';
  route.params = {};
}

let leaveGuard = null;

/** A view with unsaved changes sets a guard that may refuse leaving it. */
export function setLeaveGuard(guard) {
  leaveGuard = guard;
  return () => {
    if (leaveGuard === guard) leaveGuard = null;
  };
}

export function navigate(path, { replace = false } = {}) {
  const target = PREFIX + path;
  if (target === window.location.pathname) return;
  const leavingView = path.split('/')[1] !== route.path.split('/')[1];
  if (leavingView && leaveGuard && !leaveGuard()) return;
  if (replace) window.history.replaceState(null, '', target);
  else window.history.pushState(null, '', target);
  parse();
}

window.addEventListener('popstate', parse);
parse();

/** An <a> that navigates within the app, but still opens in a new tab on a middle or Ctrl click. */
export const RouterLink = {
  name: 'RouterLink',
  props: { to: { type: String, required: true } },
  setup(props, { slots, attrs }) {
    return () =>
      h(
        'a',
        {
          ...attrs,
          href: PREFIX + props.to,
          'aria-current': route.path.startsWith(props.to) ? 'page' : undefined,
          onClick(event) {
            if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
            event.preventDefault();
            navigate(props.to);
          },
        },
        slots.default?.(),
      );
  },
};
