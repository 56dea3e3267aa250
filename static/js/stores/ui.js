// State shared between the views and the footer: which footer panel is open.
import { reactive } from 'vue';

export const footer = reactive({ open: false, tab: 'notifications' });

export function openFooter(tab) {
  footer.open = true;
  footer.tab = tab;
}
