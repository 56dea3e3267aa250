// Worker tags: create, rename, describe, delete, and how tags decide who renders what.
import { ref, reactive, computed } from 'vue';
import * as api from '../lib/api.js';
import { tags, followTags, sortedTags } from '../stores/tags.js';
import { notify, notifyError } from '../stores/notifications.js';
import ConfirmDialog from '../components/ConfirmDialog.js';

export default {
  name: 'TagsView',
  components: { ConfirmDialog },
  setup() {
    followTags();
    const state = tags.state;
    const newTag = reactive({ name: '', description: '' });
    const drafts = reactive({}); // tag id -> {name, description}
    const deleting = ref(null);
    const list = computed(() => {
      void state.revision;
      return sortedTags();
    });

    function draftOf(tag) {
      if (!drafts[tag.id]) drafts[tag.id] = { name: tag.name, description: tag.description || '' };
      return drafts[tag.id];
    }
    function isChanged(tag) {
      const draft = drafts[tag.id];
      return !!draft && (draft.name !== tag.name || draft.description !== (tag.description || ''));
    }

    async function create() {
      const name = newTag.name.trim();
      if (!name) return;
      try {
        const created = await api.createWorkerTag({ name, description: newTag.description.trim() });
        tags.upsert(created);
        notify(`Tag “${name}” created.`, 'success');
        newTag.name = '';
        newTag.description = '';
      } catch (failure) {
        notifyError('Cannot create the tag', failure);
      }
    }

    async function save(tag) {
      const draft = drafts[tag.id];
      if (!draft.name.trim()) {
        notify('A tag needs a name.', 'error');
        return;
      }
      try {
        const updated = { id: tag.id, name: draft.name.trim(), description: draft.description.trim() };
        await api.updateWorkerTag(tag.id, updated);
        tags.upsert(updated);
        delete drafts[tag.id];
        notify(`Tag “${updated.name}” saved.`, 'success');
      } catch (failure) {
        notifyError('Cannot save the tag', failure);
      }
    }

    function revert(tag) {
      delete drafts[tag.id];
    }

    async function remove() {
      const tag = deleting.value;
      deleting.value = null;
      try {
        await api.deleteWorkerTag(tag.id);
        tags.delete(tag.id);
        notify(`Tag “${tag.name}” deleted.`, 'success');
      } catch (failure) {
        notifyError('Cannot delete the tag', failure);
      }
    }

    return { state, list, newTag, draftOf, isChanged, create, save, revert, deleting, remove };
  },
  template: `<div class="page tags-view" data-testid="tags-view">
    <h1>Worker tags</h1>
    <section class="card explanation" aria-label="How tags route jobs">
      <p>Tags decide which Workers render which jobs:</p>
      <ul>
        <li>A job has one tag or none, chosen when it is submitted.</li>
        <li>A job with a tag only goes to Workers that have that tag.</li>
        <li>A job without a tag goes to any Worker.</li>
        <li>A Worker with tags takes jobs with one of its tags, and jobs without a tag.</li>
        <li>A Worker without tags only takes jobs without a tag.</li>
      </ul>
      <p>Give Workers their tags on the Workers page. The Blender add-on offers the tags when submitting a job.</p>
    </section>

    <form class="card tag-create" @submit.prevent="create" aria-labelledby="new-tag-heading">
      <h2 id="new-tag-heading">New tag</h2>
      <div class="form-row">
        <label>Name <input v-model="newTag.name" required data-testid="new-tag-name"></label>
        <label class="grow">Description <input v-model="newTag.description" data-testid="new-tag-description"></label>
        <button type="submit" class="primary" :disabled="!newTag.name.trim()">Create tag</button>
      </div>
    </form>

    <p v-if="state.error" class="error-text" role="alert">Cannot load the tags: {{ state.error }}</p>
    <p v-else-if="!state.loaded" class="hint">Loading tags…</p>
    <p v-else-if="!list.length" class="empty-state">No tags yet. Without tags, every Worker takes every job.</p>
    <table v-else class="plain-table tag-table">
      <caption class="visually-hidden">Worker tags</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Description</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>
        <tr v-for="tag in list" :key="tag.id" :data-tag="tag.name">
          <td><input v-model="draftOf(tag).name" :aria-label="'Name of tag ' + tag.name" @keydown.enter.prevent="isChanged(tag) && save(tag)" @keydown.esc="revert(tag)"></td>
          <td class="grow"><input v-model="draftOf(tag).description" :aria-label="'Description of tag ' + tag.name" @keydown.enter.prevent="isChanged(tag) && save(tag)" @keydown.esc="revert(tag)"></td>
          <td class="row-actions">
            <button type="button" :disabled="!isChanged(tag)" @click="save(tag)">Save</button>
            <button type="button" class="danger" @click="deleting = tag" :aria-label="'Delete tag ' + tag.name">Delete…</button>
          </td>
        </tr>
      </tbody>
    </table>
    <ConfirmDialog :open="!!deleting" :title="deleting ? 'Delete tag “' + deleting.name + '”?' : ''" confirm-label="Delete" danger
      @confirm="remove" @cancel="deleting = null">
      <p>Workers lose this tag. Jobs that had it are no longer limited to particular Workers.</p>
    </ConfirmDialog>
  </div>`,
};
