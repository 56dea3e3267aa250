// Starts the web interface: the setup assistant on a first run, the farm dashboard otherwise.
import { createApp } from 'vue';
import { loadLogin } from './lib/api.js';
import { connect } from './lib/socket.js';
import { route } from './lib/router.js';
import { followJobs } from './stores/jobs.js';
import { farm, loadFarm, followFarm } from './stores/farm.js';
import App from './views/App.js';
import LoginView from './views/LoginView.js';
import SetupAssistant from './views/setup/SetupAssistant.js';

const IDLE_RELOAD_MINUTES = 60;
const RETRY_SECONDS = 5;

function showBootError(root, error) {
  root.replaceChildren();
  const message = document.createElement('div');
  message.className = 'boot-message';
  message.setAttribute('role', 'alert');
  message.textContent = `The Manager cannot be reached (${error.message}). Trying again in ${RETRY_SECONDS} seconds…`;
  root.append(message);
}

/** A wall display left alone for an hour reloads, to pick up a fresh interface and memory. */
function reloadWhenIdle() {
  let lastActivity = Date.now();
  for (const name of ['mousemove', 'keydown', 'pointerdown', 'resize', 'wheel']) {
    window.addEventListener(name, () => {
      lastActivity = Date.now();
    }, { passive: true });
  }
  setInterval(() => {
    if (Date.now() - lastActivity > IDLE_RELOAD_MINUTES * 60 * 1000) window.location.reload();
  }, 60 * 1000);
}

async function boot() {
  const root = document.getElementById('app');
  try {
    if (!(await loadLogin())) {
      root.replaceChildren();
      createApp(LoginView).mount(root);
      return;
    }
  } catch (error) {
    showBootError(root, error);
    setTimeout(boot, RETRY_SECONDS * 1000);
    return;
  }
  // Connect first: the job list, the biggest download, is fetched as soon as
  // its room is joined, while the rest boots.
  connect();
  if (route.name === 'jobs') followJobs();
  try {
    await loadFarm();
  } catch (error) {
    showBootError(root, error);
    setTimeout(boot, RETRY_SECONDS * 1000);
    return;
  }
  root.replaceChildren();
  const app = createApp(farm.configuration.isFirstRun ? SetupAssistant : App);
  app.config.errorHandler = (error) => console.error(error);
  app.mount(root);
  followFarm();
  reloadWhenIdle();
}

boot();
