// Setup assistant: choosing and checking the shared storage.
import { ref, onMounted } from 'vue';
import * as api from '../../lib/api.js';
import { farm } from '../../stores/farm.js';

export default {
  name: 'StorageStep',
  props: { modelValue: { type: Object, default: null }, headingRef: { type: Function, required: true } },
  emits: ['update:modelValue'],
  setup(props, { emit }) {
    const path = ref(props.modelValue?.path || farm.configuration?.storageLocation || '');
    const checking = ref(false);
    const error = ref('');
    const result = ref(props.modelValue);

    async function check() {
      checking.value = true;
      error.value = '';
      try {
        result.value = await api.checkSharedStoragePath(path.value.trim());
        emit('update:modelValue', result.value);
      } catch (failure) {
        error.value = failure.message;
        emit('update:modelValue', null);
      }
      checking.value = false;
    }
    function edited() {
      result.value = null;
      emit('update:modelValue', null);
    }
    onMounted(() => {
      if (path.value && !result.value) check();
    });
    return { path, checking, error, result, check, edited };
  },
  template: `<div>
    <h1 :ref="headingRef" tabindex="-1">Shared storage</h1>
    <p>Choose a folder that the Manager, every Worker and every artist's computer can reach, for example a network share.
      Job files are put there for the Workers, and the Workers write their renders there.</p>
    <form class="form-row" @submit.prevent="check">
      <label class="grow">Folder, as this Manager's computer sees it
        <input v-model="path" @input="edited" placeholder="/mnt/flamenco" data-testid="storage-path" required></label>
      <button type="submit" :disabled="checking || !path.trim()">Check</button>
    </form>
    <p v-if="error" class="banner error" role="alert">{{ error }}</p>
    <p v-else-if="result" class="banner" :class="result.is_usable ? 'success' : 'error'" role="status" data-testid="storage-result">
      <strong>{{ result.is_usable ? 'Usable:' : 'Not usable:' }}</strong> {{ result.cause }}</p>
  </div>`,
};
