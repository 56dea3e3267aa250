// The first-run setup assistant: shared storage, Blender, review, save.
import { ref, reactive, computed, watch } from 'vue';
import * as api from '../../lib/api.js';
import { farm } from '../../stores/farm.js';
import StorageStep from './StorageStep.js';
import BlenderStep from './BlenderStep.js';

const STEPS = [
  { key: 'welcome', label: 'Welcome' },
  { key: 'storage', label: 'Shared storage' },
  { key: 'blender', label: 'Blender' },
  { key: 'review', label: 'Review' },
];
const RESTART_POLL_MS = 1000;

export default {
  name: 'SetupAssistant',
  components: { StorageStep, BlenderStep },
  setup() {
    const step = ref(0);
    const choices = reactive({ storage: null, blender: null }); // PathCheckResult, BlenderPathCheckResult
    // Optional: an administrator switches access control on (docs/access-control.md).
    const administrator = reactive({ name: '', password: '' });
    const saving = ref(false);
    const saveError = ref('');
    const saved = ref(false);
    const heading = ref(null);

    const canContinue = computed(() => {
      const key = STEPS[step.value].key;
      if (key === 'storage') return !!choices.storage?.is_usable;
      if (key === 'blender') return !!choices.blender?.is_usable;
      return true;
    });

    watch(step, () => requestAnimationFrame(() => heading.value?.focus()));

    async function waitForRestart() {
      try {
        const configuration = await api.getConfiguration();
        if (!configuration.isFirstRun) {
          window.location.assign('/app/');
          return;
        }
      } catch (error) {
        // 401: it restarted with access control on, and wants a login.
        if (error.status === 401) {
          window.location.assign('/app/');
          return;
        }
        // Otherwise the Manager is restarting.
      }
      setTimeout(waitForRestart, RESTART_POLL_MS);
    }

    async function confirm() {
      saving.value = true;
      saveError.value = '';
      try {
        const answers = { storageLocation: choices.storage.path, blenderExecutable: choices.blender };
        if (administrator.name) answers.administrator = { ...administrator };
        await api.saveSetupAssistantConfig(answers);
        saved.value = true;
        setTimeout(waitForRestart, RESTART_POLL_MS);
      } catch (failure) {
        saveError.value = failure.message;
      }
      saving.value = false;
    }

    return { STEPS, step, choices, administrator, canContinue, confirm, saving, saveError, saved, farm, heading };
  },
  template: `<div class="setup-assistant" data-testid="setup-assistant">
    <header class="app-header"><span class="brand"><img src="favicon.svg" alt="" width="22" height="22"> Flamenco setup</span>
      <span class="header-links"><span class="version">{{ farm.version }}</span></span></header>
    <main class="page setup-page" id="main">
      <ol class="setup-steps" aria-label="Setup steps">
        <li v-for="(item, index) in STEPS" :key="item.key" :aria-current="index === step ? 'step' : undefined" :class="{ done: index < step }">{{ item.label }}</li>
      </ol>
      <section class="card setup-step" aria-live="polite">
        <template v-if="saved">
          <h1 ref="heading" tabindex="-1">Setup saved</h1>
          <p>The configuration has been written. The Manager restarts with it; this page reloads by itself when it is back.</p>
        </template>
        <template v-else-if="STEPS[step].key === 'welcome'">
          <h1 ref="heading" tabindex="-1">Welcome to Flamenco</h1>
          <p>This assistant sets up the Manager in two questions. A Flamenco farm is:</p>
          <ul>
            <li><strong>the Manager</strong> (this program), which keeps the jobs and hands out tasks;</li>
            <li><strong>Workers</strong> on the render machines, which run Blender;</li>
            <li><strong>the Blender add-on</strong>, with which artists submit jobs;</li>
            <li><strong>shared storage</strong> that all of them reach, for the job files and the renders.</li>
          </ul>
          <p>Answers can be changed later on the Settings page.</p>
        </template>
        <StorageStep v-else-if="STEPS[step].key === 'storage'" v-model="choices.storage" :heading-ref="(element) => (heading = element)" />
        <BlenderStep v-else-if="STEPS[step].key === 'blender'" v-model="choices.blender" :heading-ref="(element) => (heading = element)" />
        <template v-else>
          <h1 ref="heading" tabindex="-1">Review</h1>
          <dl class="facts">
            <dt>Shared storage</dt><dd><code>{{ choices.storage.path }}</code></dd>
            <dt>Blender</dt><dd><code>{{ choices.blender.path || choices.blender.input }}</code> <span class="hint">({{ choices.blender.cause }})</span></dd>
          </dl>
          <fieldset class="setup-administrator">
            <legend>Protect the farm (optional)</legend>
            <p class="hint">With an administrator, everyone must log in, and Workers and the add-on need
              tokens or the enrolment secret. Leave empty for an open farm, as Flamenco has always been.</p>
            <label>Administrator name <input v-model.trim="administrator.name" autocomplete="username"></label>
            <label>Password <input v-model="administrator.password" type="password" autocomplete="new-password" minlength="8"></label>
          </fieldset>
          <p>Confirming writes <code>flamenco-manager.yaml</code> and restarts the Manager.</p>
          <p v-if="saveError" class="banner error" role="alert">Cannot save the setup: {{ saveError }}</p>
        </template>
        <div v-if="!saved" class="button-row setup-buttons">
          <button type="button" v-if="step > 0" @click="step -= 1">Back</button>
          <button type="button" v-if="step < STEPS.length - 1" class="primary" :disabled="!canContinue" @click="step += 1">Next</button>
          <button type="button" v-else class="primary" :disabled="saving" @click="confirm" data-testid="setup-confirm">Confirm and save</button>
        </div>
      </section>
    </main>
  </div>`,
};
