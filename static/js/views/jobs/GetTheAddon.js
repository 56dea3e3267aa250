// The empty state of the jobs view: how to get jobs onto the farm.
import CopyText from '../../components/CopyText.js';

export default {
  name: 'GetTheAddon',
  components: { CopyText },
  setup() {
    return { managerUrl: window.location.origin };
  },
  template: `<section class="empty-state get-the-addon" aria-labelledby="no-jobs-heading">
    <h3 id="no-jobs-heading">No jobs yet</h3>
    <p>Jobs are submitted from Blender, with the Flamenco add-on.</p>
    <ol>
      <li><a class="button primary" href="/flamenco-addon.zip" download>Download the add-on</a></li>
      <li>In Blender, open <em>Edit › Preferences › Add-ons</em>, choose <em>Install from Disk…</em> and pick the downloaded zip file.</li>
      <li>In the add-on's preferences, enter this Manager's address: <CopyText :value="managerUrl" /></li>
      <li>Submit a job from the <em>Output</em> properties of your scene. It shows up here at once.</li>
    </ol>
  </section>`,
};
