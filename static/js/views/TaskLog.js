// The selected task's log, following new lines live. Lines are appended to the
// DOM directly: a busy log must not re-render thousands of lines per update.
import { ref, computed, watch, onMounted, onBeforeUnmount } from 'vue';
import { route } from '../lib/router.js';
import { followTaskLog, addLogSink, taskLog } from '../stores/tasklog.js';

const MAX_LINES = 2000;

export default {
  name: 'TaskLog',
  setup() {
    const output = ref(null);
    const follow = ref(true);
    const lineCount = ref(0);
    const taskId = computed(() => (route.name === 'jobs' ? route.params.taskId : ''));
    let removeSink = null;

    function atBottom(element) {
      return element.scrollHeight - element.scrollTop - element.clientHeight < 30;
    }

    function append(text) {
      const element = output.value;
      if (!element || !text) return;
      const stick = follow.value && atBottom(element);
      const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
      const fragment = document.createDocumentFragment();
      for (const line of lines) {
        const div = document.createElement('div');
        div.textContent = line;
        fragment.append(div);
      }
      element.append(fragment);
      while (element.childElementCount > MAX_LINES) element.firstElementChild.remove();
      lineCount.value = element.childElementCount;
      if (stick) element.scrollTop = element.scrollHeight;
    }

    function reset(text) {
      if (!output.value) return;
      output.value.replaceChildren();
      lineCount.value = 0;
      append(text);
      output.value.scrollTop = output.value.scrollHeight;
    }

    function onScroll() {
      if (output.value) follow.value = atBottom(output.value);
    }

    onMounted(() => {
      removeSink = addLogSink({ reset, append });
      followTaskLog(taskId.value);
    });
    watch(taskId, (id) => followTaskLog(id));
    onBeforeUnmount(() => {
      removeSink?.();
      followTaskLog('');
    });

    function jumpToEnd() {
      follow.value = true;
      if (output.value) output.value.scrollTop = output.value.scrollHeight;
    }

    return { output, follow, taskId, taskLog, lineCount, onScroll, jumpToEnd, MAX_LINES };
  },
  template: `<div class="task-log">
    <p v-if="!taskId" class="hint">Select a task in the jobs view to follow its log here.</p>
    <p v-else-if="taskLog.error" class="error-text" role="alert">{{ taskLog.error }}</p>
    <p v-else-if="taskLog.empty && !taskLog.loading" class="hint">This task has not logged anything yet; new lines appear here as they are written.</p>
    <div v-show="taskId" class="task-log-output" ref="output" role="log" aria-live="off" aria-label="Task log" tabindex="0" @scroll="onScroll" data-testid="task-log"></div>
    <div v-if="taskId" class="task-log-status">
      <span>{{ lineCount >= MAX_LINES ? 'Last ' + MAX_LINES + ' lines' : lineCount + ' lines' }}</span>
      <button v-if="!follow" type="button" class="link-button" @click="jumpToEnd">Follow new lines ⤓</button>
      <span v-else>following live</span>
    </div>
  </div>`,
};
