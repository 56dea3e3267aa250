// The dashboard's frame: header, the view for the current route, footer.
import { computed } from 'vue';
import { route } from '../lib/router.js';
import { farm } from '../stores/farm.js';
import AppHeader from './AppHeader.js';
import AppFooter from './AppFooter.js';
import JobsView from './jobs/JobsView.js';
import WorkersView from './workers/WorkersView.js';
import TagsView from './TagsView.js';
import LastRenderedView from './LastRenderedView.js';
import SettingsView from './settings/SettingsView.js';
import NotificationsView from './NotificationsView.js';
import NotFoundView from './NotFoundView.js';

const VIEWS = {
  jobs: JobsView,
  workers: WorkersView,
  tags: TagsView,
  'last-rendered': LastRenderedView,
  settings: SettingsView,
  notifications: NotificationsView,
};

export default {
  name: 'App',
  components: { AppHeader, AppFooter },
  setup() {
    const view = computed(() => VIEWS[route.name] || NotFoundView);
    return { view, route, farm };
  },
  template: `<a class="skip-link" href="#main">Skip to content</a>
  <AppHeader />
  <div v-if="farm.alarms.length" class="farm-alarms" role="alert" data-testid="farm-alarms">
    <p v-for="alarm in farm.alarms" :key="alarm.kind" class="banner error farm-alarm">
      <strong>Farm alarm:</strong> {{ alarm.message }}
    </p>
  </div>
  <main id="main" class="app-main" :class="'view-' + route.name" tabindex="-1">
    <component :is="view" />
  </main>
  <AppFooter />`,
};
