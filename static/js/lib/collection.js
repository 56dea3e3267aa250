// A set of records (jobs, tasks, workers, tags) loaded once over HTTP and then
// kept current by live events, applied in batches. The records themselves are
// plain objects, not reactive: views depend on `state.revision`, which changes
// once per applied batch. That keeps 10,000 rows cheap.
import { reactive } from 'vue';
import { createBatcher } from './batcher.js';

export class LiveCollection {
  /**
   * load(): Promise<records[]>; apply(event, byId): boolean (whether anything changed);
   * prepare(record): record, to add derived fields; onBatch(events): called after each batch.
   */
  constructor({ load, apply, prepare = (record) => record, onBatch = () => {} }) {
    this.byId = new Map();
    this.state = reactive({ loaded: false, loading: false, error: '', revision: 0, size: 0 });
    this._load = load;
    this._apply = apply;
    this._prepare = prepare;
    this._onBatch = onBatch;
    this._buffer = null;
    this._generation = 0;
    this._batcher = createBatcher((events) => this._applyBatch(events));
  }

  get(id) {
    return this.byId.get(id);
  }

  values() {
    return this.byId.values();
  }

  /** Fetches everything; events that arrive meanwhile are applied on top afterwards. */
  async reload() {
    const generation = ++this._generation;
    this._buffer = [];
    this._batcher.flush();
    this.state.loading = true;
    try {
      const records = await this._load();
      if (generation !== this._generation) return;
      const byId = new Map();
      for (const record of records) byId.set(record.id, this._prepare(record));
      this.byId = byId;
      const buffered = this._buffer;
      this._buffer = null;
      for (const event of buffered) this._apply(event, this.byId);
      this.state.error = '';
      this.state.loaded = true;
      this._bump();
    } catch (error) {
      if (generation !== this._generation) return;
      this._buffer = null;
      this.state.error = error.message || String(error);
      this.state.loaded = true;
      this._bump();
    } finally {
      if (generation === this._generation) this.state.loading = false;
    }
  }

  /** Forgets everything, for example when another job is selected. */
  reset() {
    this._generation += 1;
    this._buffer = null;
    this._batcher.clear();
    this.byId = new Map();
    this.state.loaded = false;
    this.state.loading = false;
    this.state.error = '';
    this._bump();
  }

  push(event) {
    if (this._buffer) this._buffer.push(event);
    else this._batcher.push(event);
  }

  /** Puts a record fetched elsewhere (say, a details request) into the collection. */
  upsert(record) {
    const existing = this.byId.get(record.id);
    if (existing && isOlder(record.updated, existing.updated)) return;
    this.byId.set(record.id, this._prepare(existing ? Object.assign(existing, record) : record));
    this._bump();
  }

  /** Removes a record, for example right after the user deleted it. */
  delete(id) {
    if (this.byId.delete(id)) this._bump();
  }

  _applyBatch(events) {
    let changed = false;
    for (const event of events) {
      if (this._apply(event, this.byId)) changed = true;
    }
    if (changed) this._bump();
    this._onBatch(events);
  }

  _bump() {
    this.state.size = this.byId.size;
    this.state.revision += 1;
  }
}

/** True when `candidate` is an older timestamp than `current`; stale events must not win. */
export function isOlder(candidate, current) {
  if (!candidate || !current) return false;
  return Date.parse(candidate) < Date.parse(current);
}

/** Stable sort of records by one field, with the record's id as tie breaker. */
export function sortRecords(records, key, descending) {
  const direction = descending ? -1 : 1;
  return records.sort((a, b) => {
    const left = a[key];
    const right = b[key];
    if (left === right) return a.id < b.id ? -direction : a.id > b.id ? direction : 0;
    if (left === undefined || left === null) return 1;
    if (right === undefined || right === null) return -1;
    return (left < right ? -1 : 1) * direction;
  });
}
