-- Active tasks by ID, instead of by the time a Worker last touched them: that time
-- changes with every progress report, so each report also rewrote its task's entry in
-- tasks_active_last_touched. The timeout check reads the farm's active tasks (one per
-- busy Worker) in ID order and compares their touch times itself.
DROP INDEX tasks_active_last_touched;
CREATE INDEX tasks_active ON tasks (id) WHERE status = 'active';
