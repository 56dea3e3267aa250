-- Active tasks by ID, instead of by the time a Worker last touched them: that time
-- changes with every progress report, which then had to add a new entry for its task
-- to every index of the table. The timeout check reads the farm's active tasks (one
-- per busy Worker) in ID order and compares their touch times itself.
DROP INDEX tasks_active_last_touched;
CREATE INDEX tasks_active ON tasks (id) WHERE status = 'active';

-- Room on each page for a row's next version: a progress report changes no indexed
-- column, so PostgreSQL can then update its task in place (a heap-only tuple update),
-- without touching any of the table's six indexes. Existing pages get the room as
-- their rows are updated.
ALTER TABLE tasks SET (fillfactor = 90);
