// The Manager's configuration keys, grouped as the settings page shows them, with
// help texts and validation. Keys not listed here are kept as they are.

const GO_DURATION = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/;

export function isDuration(text) {
  return text === '0' || GO_DURATION.test(text);
}

/** Seconds in a Go duration string; NaN when it is not one. */
export function durationSeconds(text) {
  if (!isDuration(text)) return NaN;
  const factors = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const [, number, unit] of text.matchAll(/((?:\d+(?:\.\d*)?|\.\d+))(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(number) * factors[unit];
  }
  return total;
}

export const CATEGORIES = [
  {
    key: 'core',
    label: 'Core',
    fields: [
      { path: 'manager_name', label: 'Manager name', type: 'text', required: true, help: 'Shown in the web interface and reported to the Blender add-on and the Workers.' },
      { path: 'listen', label: 'Listen address', type: 'text', required: true, pattern: /^[^\s]*:\d{1,5}$/, patternHelp: 'Use HOST:PORT, such as :8080 (all interfaces) or 127.0.0.1:8080.', help: 'Address and port the Manager listens on. :8080 listens on every network interface.' },
      { path: 'autodiscoverable', label: 'Autodiscoverable', type: 'bool', help: 'Announce the Manager on the local network, so Workers find it without being told its address.' },
      { path: 'shared_storage_path', label: 'Shared storage', type: 'text', required: true, help: 'Storage that the Manager, the Workers and the artists’ computers all reach, as the Manager sees it.' },
      { path: 'local_manager_storage_path', label: 'Manager storage', type: 'text', required: true, help: 'Where the Manager keeps task logs and last-rendered images; only the Manager needs it. Relative to the configuration file.' },
      { path: 'database', label: 'Database file', type: 'text', required: true, help: 'The SQLite database, relative to the configuration file.' },
      { path: 'database_check_period', label: 'Database check period', type: 'duration', help: 'How often the database is checked for damage while running; 0s turns the check off. A failed check raises an alarm; the Manager keeps running.' },
      { path: 'database_backup_period', label: 'Database backup period', type: 'duration', help: 'How often the Manager copies its database while running; 0s turns backups off.' },
      { path: 'database_backup_keep', label: 'Backups kept', type: 'integer', min: 1, help: 'How many backups to keep; older ones are removed.' },
      { path: 'database_backup_path', label: 'Backup folder', type: 'text', help: 'Where backups go, relative to the configuration file. Empty: a folder named after the database, beside it (flamenco-manager-backups).' },
    ],
  },
  {
    key: 'shaman',
    label: 'Shaman',
    fields: [
      { path: 'shaman.enabled', label: 'Enabled', type: 'bool', help: 'Let the add-on upload job files to the Manager’s file store, which sends each file only once and builds a folder per job. Needs symbolic links (or another link mode).' },
      { path: 'shaman.garbageCollect.period', label: 'Clean-up period', type: 'duration', help: 'How often stored files that no job uses any more are removed; 0s turns the clean-up off.' },
      { path: 'shaman.garbageCollect.maxAge', label: 'Clean-up age', type: 'duration', help: 'How long an unused file is kept before the clean-up removes it (744h is 31 days).' },
      { path: 'shaman.link_mode', label: 'Link mode', type: 'choice', choices: ['auto', 'symlink', 'hardlink', 'copy'], help: 'How stored files are put into a job’s folder. auto uses symbolic links where possible.' },
    ],
  },
  {
    key: 'timeouts',
    label: 'Timeouts & failures',
    fields: [
      { path: 'task_timeout', label: 'Task timeout', type: 'duration', help: 'A task whose Worker has reported nothing for this long is failed.' },
      { path: 'worker_timeout', label: 'Worker timeout', type: 'duration', help: 'A Worker not heard from for this long is marked as in trouble, and its task goes back to the queue.' },
      { path: 'no_progress_timeout', label: 'No-progress timeout', type: 'duration', help: 'Fail a task that shows no progress for this long even though its Worker responds, such as a hung Blender. 0s turns this off.' },
      { path: 'blocklist_threshold', label: 'Blocklist threshold', type: 'integer', min: 0, help: 'After this many failures of one task type by one Worker in one job, the Worker gets no more tasks of that type from that job.' },
      { path: 'task_fail_after_softfail_count', label: 'Failures before a task fails', type: 'integer', min: 1, help: 'After this many Workers failed a task, it fails for good.' },
    ],
  },
  {
    key: 'mqtt',
    label: 'MQTT',
    fields: [
      { path: 'mqtt.client.enabled', label: 'Enabled', type: 'bool', help: 'Send the farm’s events to an MQTT broker, for dashboards and automation.' },
      { path: 'mqtt.client.broker', label: 'Broker', type: 'text', placeholder: 'tcp://host:1883', requiredWhen: 'mqtt.client.enabled', help: 'The broker’s address, tcp://host:1883 or ws://host:port.' },
      { path: 'mqtt.client.clientID', label: 'Client ID', type: 'text', help: 'The client ID to connect with.' },
      { path: 'mqtt.client.topic_prefix', label: 'Topic prefix', type: 'text', help: 'Put before every topic: job updates go to <prefix>/jobs.' },
      { path: 'mqtt.client.username', label: 'User name', type: 'text', help: 'Leave empty for anonymous access.' },
      { path: 'mqtt.client.password', label: 'Password', type: 'password', help: 'Password for the broker.' },
    ],
  },
  {
    key: 'notifications',
    label: 'Notifications',
    fields: [
      { path: 'notifications.email.enabled', label: 'Send mail', type: 'bool', help: 'Mail notifications (job completed, failed, waiting for approval; Worker errors) through an SMTP server. Webhooks are listed under notifications.webhooks in the configuration file; the Notifications page shows how deliveries went.' },
      { path: 'notifications.email.smtp_host', label: 'SMTP server', type: 'text', requiredWhen: 'notifications.email.enabled', help: 'Host name of the mail server.' },
      { path: 'notifications.email.smtp_port', label: 'SMTP port', type: 'integer', min: 1, help: '587 for STARTTLS, 465 for TLS, 25 for none.' },
      { path: 'notifications.email.smtp_security', label: 'Security', type: 'choice', choices: ['starttls', 'tls', 'none'], help: 'How the connection to the mail server is protected.' },
      { path: 'notifications.email.smtp_username', label: 'User name', type: 'text', help: 'Leave empty to send without logging in.' },
      { path: 'notifications.email.smtp_password', label: 'Password', type: 'password', help: 'Password for the mail server.' },
      { path: 'notifications.email.from_address', label: 'From address', type: 'text', requiredWhen: 'notifications.email.enabled', help: 'The sender of the mail.' },
      { path: 'notifications.email.notify_submitter', label: 'Mail the artist', type: 'bool', help: 'Also mail the artist who submitted the job, when the add-on sent their address (the Email field in its preferences).' },
      { path: 'notifications.retry_delay', label: 'First retry after', type: 'duration', positive: true, help: 'A failed delivery is tried again after this long, then twice as long each time.' },
      { path: 'notifications.retry_max_delay', label: 'Longest retry wait', type: 'duration', positive: true, help: 'The wait between attempts grows no longer than this.' },
      { path: 'notifications.max_attempts', label: 'Attempts', type: 'integer', min: 1, help: 'Attempts before a delivery is marked failed (it can be retried from the Notifications page).' },
    ],
  },
  { key: 'variables', label: 'Variables', fields: [] },
  {
    key: 'extensions',
    label: 'Other',
    fields: [
      { path: 'job_scripts_path', label: 'Job scripts folder', type: 'text', help: 'Folder with custom job-type scripts, relative to the configuration file. Read again on every use: no restart needed.' },
      { path: 'job_compiler_timeout', label: 'Job compiler timeout', type: 'duration', positive: true, help: 'How long a job-type script may take to turn a submission into tasks.' },
      { path: 'task_log_max_bytes', label: 'Largest task log (bytes)', type: 'integer', min: 0, help: 'A task log growing past this is rotated; 0 means no limit.' },
    ],
  },
];

export function getPath(object, path) {
  return path.split('.').reduce((value, key) => (value == null ? undefined : value[key]), object);
}

export function setPath(object, path, value) {
  const keys = path.split('.');
  let target = object;
  for (const key of keys.slice(0, -1)) {
    if (typeof target[key] !== 'object' || target[key] === null) target[key] = {};
    target = target[key];
  }
  target[keys.at(-1)] = value;
}

/** Checks one field; returns a problem description or ''. */
export function fieldProblem(field, config) {
  const value = getPath(config, field.path);
  if (value === undefined) return '';
  switch (field.type) {
    case 'duration':
      if (typeof value !== 'string' || !isDuration(value)) return 'Use a duration like 30s, 10m0s or 1h30m.';
      if (field.positive && !(durationSeconds(value) > 0)) return 'Must be longer than 0s.';
      return '';
    case 'integer':
      if (!Number.isInteger(value)) return 'Use a whole number.';
      if (field.min !== undefined && value < field.min) return `Must be ${field.min} or more.`;
      return '';
    case 'text':
    case 'password':
    case 'choice':
      if (typeof value !== 'string') return 'Must be text.';
      if (field.required && !value.trim()) return 'This setting is required.';
      if (field.requiredWhen && getPath(config, field.requiredWhen) && !value.trim()) return 'Required while this is enabled.';
      if (field.pattern && value && !field.pattern.test(value)) return field.patternHelp;
      if (field.choices && !field.choices.includes(value)) return `Choose one of ${field.choices.join(', ')}.`;
      return '';
    default:
      return '';
  }
}

/** Problems with the variables, keyed "variables.<name>[.<index>]". */
export function variableProblems(variables) {
  const problems = {};
  for (const [name, variable] of Object.entries(variables || {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) problems[`variables.${name}`] = 'Names use letters, digits, - and _.';
    if (name === 'jobs') problems[`variables.${name}`] = '“jobs” is set by the Manager itself and cannot be configured.';
    (variable.values || []).forEach((value, index) => {
      if (!value.platform && !(value.platforms && value.platforms.length)) problems[`variables.${name}.${index}`] = 'Choose a platform (or “all”).';
    });
  }
  return problems;
}
