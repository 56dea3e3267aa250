// Tabs following the ARIA tabs pattern: arrow keys move between them.
export default {
  name: 'TabBar',
  props: {
    tabs: { type: Array, required: true }, // [{key, label}]
    modelValue: { type: String, required: true },
    label: { type: String, required: true },
    idPrefix: { type: String, required: true },
  },
  emits: ['update:modelValue'],
  setup(props, { emit }) {
    function onKeyDown(event) {
      const index = props.tabs.findIndex((tab) => tab.key === props.modelValue);
      let next = index;
      if (event.key === 'ArrowRight') next = (index + 1) % props.tabs.length;
      else if (event.key === 'ArrowLeft') next = (index - 1 + props.tabs.length) % props.tabs.length;
      else return;
      event.preventDefault();
      emit('update:modelValue', props.tabs[next].key);
      event.currentTarget.querySelectorAll('[role=tab]')[next]?.focus();
    }
    return { onKeyDown, emit };
  },
  template: `<div class="tab-bar" role="tablist" :aria-label="label" @keydown="onKeyDown">
    <button v-for="tab in tabs" :key="tab.key" type="button" role="tab"
      :id="idPrefix + '-tab-' + tab.key" :aria-controls="idPrefix + '-panel'"
      :aria-selected="tab.key === modelValue ? 'true' : 'false'"
      :tabindex="tab.key === modelValue ? 0 : -1"
      @click="emit('update:modelValue', tab.key)">{{ tab.label }}</button>
  </div>`,
};
