// The settings page: the Manager's configuration file, edited by category and checked before saving.
import { ref, computed, onMounted, onBeforeUnmount } from 'vue';
import * as api from '../../lib/api.js';
import { setLeaveGuard } from '../../lib/router.js';
import { notify } from '../../stores/notifications.js';
import TabBar from '../../components/TabBar.js';
import VariablesEditor from './VariablesEditor.js';
import { CATEGORIES, getPath, setPath, fieldProblem, variableProblems } from './fields.js';

const LEAVE_QUESTION = 'The settings have unsaved changes. Leave without saving them?';

export default {
  name: 'SettingsView',
  components: { TabBar, VariablesEditor },
  setup() {
    const draft = ref(null);
    const original = ref('');
    const loadError = ref('');
    const saveError = ref('');
    const saved = ref(false);
    const saving = ref(false);
    const category = ref('core');
    const tabs = CATEGORIES.map(({ key, label }) => ({ key, label }));

    async function load() {
      try {
        const config = await api.getConfigurationFile();
        original.value = JSON.stringify(config);
        draft.value = JSON.parse(original.value);
        loadError.value = '';
      } catch (failure) {
        loadError.value = failure.message;
      }
    }

    const dirty = computed(() => draft.value !== null && JSON.stringify(draft.value) !== original.value);
    const problems = computed(() => {
      if (!draft.value) return {};
      const found = variableProblems(draft.value.variables);
      for (const group of CATEGORIES) {
        for (const field of group.fields) {
          const problem = fieldProblem(field, draft.value);
          if (problem) found[field.path] = problem;
        }
      }
      return found;
    });
    const problemCount = computed(() => Object.keys(problems.value).length);
    const categoryProblems = computed(() => {
      const counts = {};
      for (const path of Object.keys(problems.value)) {
        const group = path.startsWith('variables') ? 'variables' : CATEGORIES.find((candidate) => candidate.fields.some((field) => field.path === path))?.key;
        counts[group] = (counts[group] || 0) + 1;
      }
      return counts;
    });
    const labelledTabs = computed(() => tabs.map((tab) => ({ ...tab, label: categoryProblems.value[tab.key] ? `${tab.label} ⚠` : tab.label })));
    const currentFields = computed(() => CATEGORIES.find((group) => group.key === category.value).fields);

    function value(field) {
      return getPath(draft.value, field.path);
    }
    function update(field, event) {
      saved.value = false;
      if (field.type === 'bool') setPath(draft.value, field.path, event.target.checked);
      else if (field.type === 'integer') {
        const number = event.target.valueAsNumber;
        setPath(draft.value, field.path, Number.isNaN(number) ? event.target.value : number);
      } else setPath(draft.value, field.path, event.target.value);
    }
    function tidy(field) {
      // An empty duration means "off", which the file spells 0s.
      if (field.type === 'duration' && value(field) === '') setPath(draft.value, field.path, '0s');
    }

    async function save() {
      if (problemCount.value) {
        saveError.value = 'Some settings are not valid; they are marked on their tabs.';
        return;
      }
      saving.value = true;
      saveError.value = '';
      try {
        await api.updateConfigurationFile(draft.value);
        original.value = JSON.stringify(draft.value);
        saved.value = true;
        notify('Settings saved. Restart the Manager to make them active.', 'success');
      } catch (failure) {
        saveError.value = `The Manager refused the settings: ${failure.message}`;
      }
      saving.value = false;
    }

    function undo() {
      draft.value = JSON.parse(original.value);
      saveError.value = '';
    }

    function onBeforeUnload(event) {
      if (!dirty.value) return;
      event.preventDefault();
      event.returnValue = LEAVE_QUESTION;
    }
    let removeGuard = null;
    onMounted(() => {
      load();
      window.addEventListener('beforeunload', onBeforeUnload);
      removeGuard = setLeaveGuard(() => !dirty.value || window.confirm(LEAVE_QUESTION));
    });
    onBeforeUnmount(() => {
      window.removeEventListener('beforeunload', onBeforeUnload);
      removeGuard?.();
    });

    return {
      draft, loadError, saveError, saved, saving, dirty, problems, problemCount, category, labelledTabs,
      currentFields, value, update, tidy, save, undo,
    };
  },
  template: `<div class="page settings-view" data-testid="settings-view">
    <div class="settings-heading">
      <h1>Settings</h1>
      <div class="button-row">
        <button type="button" :disabled="!dirty || saving" @click="undo">Undo changes</button>
        <button type="button" class="primary" :disabled="!dirty || saving" @click="save" data-testid="settings-save">Save</button>
      </div>
    </div>
    <p class="hint">These are the settings of <code>flamenco-manager.yaml</code>. Saving writes that file; the Manager uses the new settings after a restart.</p>
    <p v-if="loadError" class="banner error" role="alert">Cannot load the settings: {{ loadError }}</p>
    <p v-if="saveError" class="banner error" role="alert">{{ saveError }}</p>
    <p v-if="saved && !dirty" class="banner success" role="status" data-testid="settings-saved">Settings saved. <strong>Restart the Manager</strong> to make them active.</p>
    <p v-else-if="dirty" class="banner info" role="status">Unsaved changes<span v-if="problemCount">; {{ problemCount }} to correct before saving</span>.</p>
    <template v-if="draft">
      <TabBar :tabs="labelledTabs" v-model="category" label="Settings categories" id-prefix="settings" />
      <div id="settings-panel" role="tabpanel" class="settings-panel" :aria-labelledby="'settings-tab-' + category">
        <VariablesEditor v-if="category === 'variables'" :variables="draft.variables" :problems="problems" />
        <div v-else class="settings-fields">
          <div v-for="field in currentFields" :key="field.path" class="setting">
            <label v-if="field.type === 'bool'" class="switch">
              <input type="checkbox" role="switch" :checked="!!value(field)" @change="update(field, $event)" :aria-describedby="'help-' + field.path">
              {{ field.label }}
            </label>
            <template v-else>
              <label :for="'field-' + field.path">{{ field.label }}</label>
              <select v-if="field.type === 'choice'" :id="'field-' + field.path" :value="value(field)" @change="update(field, $event)" :aria-describedby="'help-' + field.path">
                <option v-for="choice in field.choices" :key="choice" :value="choice">{{ choice }}</option>
              </select>
              <input v-else :id="'field-' + field.path" :name="field.path"
                :type="field.type === 'integer' ? 'number' : field.type === 'password' ? 'password' : 'text'"
                :value="value(field)" :placeholder="field.placeholder || (field.type === 'duration' ? 'such as 10m0s' : '')"
                :aria-invalid="problems[field.path] ? 'true' : 'false'" :aria-describedby="'help-' + field.path"
                @input="update(field, $event)" @blur="tidy(field)">
            </template>
            <p :id="'help-' + field.path" class="setting-help">
              <span v-if="problems[field.path]" class="error-text">{{ problems[field.path] }} </span>
              <span class="hint">{{ field.help }}</span>
              <code class="setting-key">{{ field.path }}</code>
            </p>
          </div>
        </div>
      </div>
    </template>
  </div>`,
};
