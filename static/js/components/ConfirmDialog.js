// A modal question built on <dialog>: focus is trapped and Escape cancels.
import { ref, watch, nextTick } from 'vue';

export default {
  name: 'ConfirmDialog',
  props: {
    open: { type: Boolean, default: false },
    title: { type: String, required: true },
    confirmLabel: { type: String, default: 'OK' },
    danger: { type: Boolean, default: false },
  },
  emits: ['confirm', 'cancel'],
  setup(props, { emit }) {
    const dialog = ref(null);
    watch(
      () => props.open,
      async (open) => {
        await nextTick();
        if (!dialog.value) return;
        if (open && !dialog.value.open) dialog.value.showModal();
        if (!open && dialog.value.open) dialog.value.close();
      },
      { immediate: true },
    );
    function onClose() {
      if (props.open) emit('cancel');
    }
    return { dialog, onClose, emit };
  },
  template: `<dialog ref="dialog" class="confirm-dialog" @close="onClose" :aria-label="title">
    <form method="dialog" @submit.prevent="emit('confirm')">
      <h2>{{ title }}</h2>
      <div class="dialog-body"><slot></slot></div>
      <div class="dialog-buttons">
        <button type="button" @click="emit('cancel')">Cancel</button>
        <button type="submit" :class="danger ? 'danger' : 'primary'" autofocus>{{ confirmLabel }}</button>
      </div>
    </form>
  </dialog>`,
};
