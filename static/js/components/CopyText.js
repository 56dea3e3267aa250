// A value that is copied to the clipboard when clicked.
import { ref } from 'vue';

export default {
  name: 'CopyText',
  props: { value: { type: String, required: true } },
  setup(props) {
    const copied = ref(false);
    async function copy() {
      try {
        await navigator.clipboard.writeText(props.value);
      } catch {
        // Clipboard access needs a secure context; select the text instead.
        const range = document.createRange();
        range.selectNodeContents(document.activeElement);
        window.getSelection()?.removeAllRanges();
        window.getSelection()?.addRange(range);
      }
      copied.value = true;
      setTimeout(() => {
        copied.value = false;
      }, 1500);
    }
    return { copied, copy };
  },
  template: `<button type="button" class="copy-text" :title="'Copy ' + value" @click="copy">
    <code>{{ value }}</code><span class="copy-hint" aria-live="polite">{{ copied ? 'copied' : '' }}</span>
  </button>`,
};
