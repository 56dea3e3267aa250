// The farm's most recently rendered image, replaced live as new ones arrive.
import { ref, computed, onMounted, onBeforeUnmount } from 'vue';
import * as api from '../lib/api.js';
import { onEvent, subscribe } from '../lib/socket.js';
import { imageUrl } from '../lib/lastRendered.js';
import { RouterLink } from '../lib/router.js';

export default {
  name: 'LastRenderedView',
  components: { RouterLink },
  setup() {
    const info = ref(null);
    const jobId = ref('');
    const loaded = ref(false);
    const error = ref('');
    const version = ref(Date.now());
    const stops = [];

    async function load() {
      try {
        info.value = await api.fetchGlobalLastRenderedInfo();
        error.value = '';
        version.value = Date.now();
      } catch (failure) {
        error.value = failure.message;
      }
      loaded.value = true;
    }

    onMounted(() => {
      stops.push(onEvent('/last-rendered', (event) => {
        info.value = event.thumbnail;
        jobId.value = event.job_id;
        version.value = Date.now();
      }));
      stops.push(subscribe('allLastRendered', '', load));
    });
    onBeforeUnmount(() => stops.forEach((stop) => stop()));

    const url = computed(() => imageUrl(info.value, '', version.value));
    return { url, loaded, error, jobId };
  },
  template: `<div class="last-rendered-view" data-testid="last-rendered">
    <h1 class="visually-hidden">Last rendered image</h1>
    <p v-if="error" class="error-text" role="alert">Cannot load the last-rendered image: {{ error }}</p>
    <figure v-if="url" class="last-rendered-figure">
      <img :src="url" alt="The image the farm rendered most recently">
      <figcaption v-if="jobId">From <RouterLink :to="'/jobs/' + jobId">this job</RouterLink>; updates as soon as a Worker renders a new image.</figcaption>
      <figcaption v-else>Updates as soon as a Worker renders a new image.</figcaption>
    </figure>
    <div v-else-if="loaded && !error" class="empty-state">
      <h2>Nothing rendered yet</h2>
      <p>When a Worker renders a frame, it appears here right away. This page is handy on a wall monitor.</p>
    </div>
  </div>`,
};
