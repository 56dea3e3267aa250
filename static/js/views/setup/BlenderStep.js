// Setup assistant: finding Blender, or checking one the user points at.
import { ref, computed, onMounted } from 'vue';
import * as api from '../../lib/api.js';

const SOURCES = {
  file_association: 'the program that opens .blend files',
  path_envvar: 'found on the PATH',
  system_location: 'the usual install location',
  input_path: 'the path you gave',
  default: 'plain “blender”, without checking',
};

export default {
  name: 'BlenderStep',
  props: { modelValue: { type: Object, default: null }, headingRef: { type: Function, required: true } },
  emits: ['update:modelValue'],
  setup(props, { emit }) {
    const found = ref(null);
    const findError = ref('');
    const customPath = ref('');
    const customResult = ref(null);
    const checking = ref(false);
    const selectedKey = ref('');

    const options = computed(() => {
      const list = (found.value || []).map((result, index) => ({ key: `found-${index}`, result }));
      if (customResult.value) list.push({ key: 'custom', result: customResult.value });
      return list;
    });

    function choose(option) {
      selectedKey.value = option.key;
      emit('update:modelValue', option.result.is_usable ? option.result : null);
    }

    async function find() {
      try {
        found.value = (await api.findBlenderExePath()) || [];
        const first = options.value.find((option) => option.result.is_usable);
        if (first && !props.modelValue) choose(first);
      } catch (failure) {
        findError.value = failure.message;
        found.value = [];
      }
    }

    async function checkCustom() {
      checking.value = true;
      try {
        customResult.value = await api.checkBlenderExePath(customPath.value.trim());
        choose({ key: 'custom', result: customResult.value });
      } catch (failure) {
        customResult.value = { input: customPath.value, path: '', source: 'input_path', is_usable: false, cause: failure.message };
      }
      checking.value = false;
    }

    onMounted(find);
    return { found, findError, options, selectedKey, choose, customPath, customResult, checking, checkCustom, SOURCES };
  },
  template: `<div>
    <h1 :ref="headingRef" tabindex="-1">Blender</h1>
    <p>The Workers run Blender. Choose the Blender the Manager should tell them to use; a Worker on another platform can be given its own path later, on the Settings page (variable <code>blender</code>).</p>
    <p v-if="found === null" class="hint">Looking for Blender…</p>
    <p v-if="findError" class="banner error" role="alert">{{ findError }}</p>
    <fieldset v-if="options.length" class="blender-options">
      <legend>Blender to use</legend>
      <label v-for="option in options" :key="option.key" class="blender-option" :class="{ unusable: !option.result.is_usable }">
        <input type="radio" name="blender" :value="option.key" :checked="selectedKey === option.key" :disabled="!option.result.is_usable" @change="choose(option)">
        <span><code>{{ option.result.path || option.result.input || 'blender' }}</code>
          <span class="hint"> — {{ SOURCES[option.result.source] || option.result.source }}. {{ option.result.cause }}</span></span>
      </label>
    </fieldset>
    <p v-else-if="found !== null && !findError">Blender was not found on this computer. Enter where it is installed:</p>
    <form class="form-row" @submit.prevent="checkCustom">
      <label class="grow">Another Blender (program or its folder)
        <input v-model="customPath" placeholder="/opt/blender/blender" data-testid="blender-path"></label>
      <button type="submit" :disabled="checking || !customPath.trim()">Check</button>
    </form>
    <p v-if="customResult && !customResult.is_usable" class="banner error" role="alert">Not usable: {{ customResult.cause }}</p>
  </div>`,
};
