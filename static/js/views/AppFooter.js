// The footer: the latest notification, and a panel with the history and the task log.
import { computed } from 'vue';
import { bar, history, clearHistory } from '../stores/notifications.js';
import { footer } from '../stores/ui.js';
import { clockTime } from '../lib/format.js';
import TabBar from '../components/TabBar.js';
import TaskLog from './TaskLog.js';

export default {
  name: 'AppFooter',
  components: { TabBar, TaskLog },
  setup() {
    const tabs = [
      { key: 'notifications', label: 'Notifications' },
      { key: 'tasklog', label: 'Task log' },
    ];
    const count = computed(() => history.value.length);
    function toggle() {
      footer.open = !footer.open;
    }
    return { bar, history, footer, tabs, count, toggle, clockTime, clearHistory };
  },
  template: `<footer class="app-footer" :class="{ open: footer.open }">
    <div class="footer-bar">
      <button type="button" class="footer-toggle" :aria-expanded="footer.open ? 'true' : 'false'" aria-controls="footer-drawer" @click="toggle">
        {{ footer.open ? '▾' : '▴' }} History ({{ count }})
      </button>
      <div class="notification-bar" role="status" aria-live="polite" data-testid="notification-bar">
        <span v-if="bar.message && bar.visible" :class="'level-' + bar.message.level">
          <time>{{ clockTime(bar.message.time) }}</time> {{ bar.message.text }}
        </span>
      </div>
    </div>
    <div v-if="footer.open" id="footer-drawer" class="footer-panel">
      <TabBar :tabs="tabs" v-model="footer.tab" label="Footer panels" id-prefix="footer" />
      <div id="footer-panel" role="tabpanel" class="footer-panel-body" :aria-labelledby="'footer-tab-' + footer.tab">
        <div v-if="footer.tab === 'notifications'" class="notification-history">
          <p v-if="!history.length" class="hint">No notifications yet. Status changes of jobs, tasks and Workers appear here.</p>
          <template v-else>
            <button type="button" class="link-button" @click="clearHistory">Clear</button>
            <ol>
              <li v-for="message in history" :key="message.id" :class="'level-' + message.level">
                <time>{{ clockTime(message.time) }}</time> {{ message.text }}
              </li>
            </ol>
          </template>
        </div>
        <TaskLog v-else />
      </div>
    </div>
  </footer>`,
};
