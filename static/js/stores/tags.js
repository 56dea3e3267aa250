// Every worker tag, kept live from the "/workertags" events.
import * as api from '../lib/api.js';
import { LiveCollection } from '../lib/collection.js';
import { onEvent, subscribe } from '../lib/socket.js';

function apply(event, byId) {
  const tag = event.tag;
  if (!tag || !tag.id) return false;
  if (event.was_deleted) return byId.delete(tag.id);
  byId.set(tag.id, { ...byId.get(tag.id), ...tag });
  return true;
}

export const tags = new LiveCollection({
  load: async () => (await api.fetchWorkerTags()).tags || [],
  apply,
});

export function sortedTags() {
  return [...tags.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function tagName(tagId) {
  return tags.get(tagId)?.name || tagId;
}

let following = false;

export function followTags() {
  if (following) return;
  following = true;
  onEvent('/workertags', (event) => tags.push(event));
  subscribe('allWorkerTags', '', () => tags.reload());
}
