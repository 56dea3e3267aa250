// Shown for an address under /app/ that no view answers to.
import { RouterLink } from '../lib/router.js';

export default {
  name: 'NotFoundView',
  components: { RouterLink },
  template: `<section class="empty-state">
    <h1>Nothing here</h1>
    <p>This address does not lead to a page of the Flamenco web interface.</p>
    <p><RouterLink to="/jobs">Go to the jobs</RouterLink></p>
  </section>`,
};
