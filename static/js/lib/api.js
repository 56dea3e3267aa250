// The Manager's REST API (/api/v3), with the Manager's own error messages on failure.
import { reactive } from 'vue';

const BASE = '/api/v3';

/** How many requests are under way; the header shows a spinner while it is above zero. */
export const apiActivity = reactive({ inFlight: 0 });

/**
 * Who is logged in, when the Manager has access control on (docs/access-control.md).
 * `csrfToken` goes with every request that changes something: the session cookie
 * alone is not enough, so that other sites' pages cannot act in our name.
 */
export const login = reactive({ name: '', role: '', credential: '', csrfToken: '' });

const SAFE_METHODS = ['GET', 'HEAD', 'OPTIONS'];

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

async function request(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (login.csrfToken && !SAFE_METHODS.includes(method)) init.headers['X-CSRF-Token'] = login.csrfToken;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  apiActivity.inFlight += 1;
  try {
    let response;
    try {
      response = await fetch(BASE + path, init);
    } catch (error) {
      throw new ApiError(0, `The Manager cannot be reached (${error.message}).`);
    }
    if (!response.ok) {
      throw new ApiError(response.status, await errorMessage(response));
    }
    if (response.status === 204) return null;
    const type = response.headers.get('Content-Type') || '';
    return type.includes('json') ? response.json() : response.text();
  } finally {
    apiActivity.inFlight -= 1;
  }
}

async function errorMessage(response) {
  const fallback = `${response.status} ${response.statusText}`.trim();
  try {
    const text = await response.text();
    try {
      const parsed = JSON.parse(text);
      if (parsed && typeof parsed.message === 'string' && parsed.message) return parsed.message;
    } catch {
      if (text && text.length < 300) return text;
    }
  } catch {
    // The body could not be read; the status line is all we have.
  }
  return fallback;
}

const get = (path) => request('GET', path);
const post = (path, body) => request('POST', path, body);
const put = (path, body) => request('PUT', path, body);
const remove = (path, body) => request('DELETE', path, body);
const id = encodeURIComponent;

// Access control (our extension)
export const fetchCurrentPrincipal = () => get('/access/me');
export const logIn = (name, password) => post('/access/login', { name, password });
export const logOut = () => post('/access/logout');
export const fetchLoginMethods = () => get('/access/login-methods');
export const fetchAccessTokens = () => get('/access/tokens');
export const createAccessToken = (token) => post('/access/tokens', token);
export const revokeAccessToken = (tokenId) => remove(`/access/tokens/${id(tokenId)}`);
export const fetchUsers = () => get('/access/users');
export const saveUser = (name, role, password) => put(`/access/users/${id(name)}`, { role, password });
export const deleteUser = (name) => remove(`/access/users/${id(name)}`);
export const fetchAuditLog = (before) => get('/access/audit' + (before ? `?before=${before}` : ''));

/** Remember who is logged in; false when the Manager wants a login first. */
export async function loadLogin() {
  let me;
  try {
    me = await fetchCurrentPrincipal();
  } catch (error) {
    if (error.status === 401) return false;
    // A Manager without this extension (404) simply has no access control.
    if (error.status === 404) return true;
    throw error;
  }
  login.name = me.name;
  login.role = me.role || '';
  login.credential = me.credential;
  login.csrfToken = me.csrf_token || '';
  return true;
}

// Meta
export const getVersion = () => get('/version');
export const getConfiguration = () => get('/configuration');
export const getFarmStatus = () => get('/status');
export const getConfigurationFile = () => get('/configuration/file');
export const updateConfigurationFile = (config) => put('/configuration/file', config);
export const checkSharedStoragePath = (path) => post('/configuration/check/shared-storage', { path });
export const findBlenderExePath = () => get('/configuration/check/blender');
export const checkBlenderExePath = (path) => post('/configuration/check/blender', { path });
export const saveSetupAssistantConfig = (config) => post('/configuration/setup-assistant', config);

// Jobs
export const fetchJobs = () => get('/jobs');
export const fetchJob = (jobId) => get(`/jobs/${id(jobId)}`);
export const fetchJobTasks = (jobId) => get(`/jobs/${id(jobId)}/tasks`);
export const fetchJobTypes = () => get('/jobs/types');
export const getJobType = (name) => get(`/jobs/type/${id(name)}`);
export const setJobStatus = (jobId, status, reason) =>
  post(`/jobs/${id(jobId)}/setstatus`, { status, reason });
export const setJobPriority = (jobId, priority) =>
  post(`/jobs/${id(jobId)}/setpriority`, { priority });
export const deleteJob = (jobId, withDependents = false) =>
  remove(`/jobs/${id(jobId)}${withDependents ? '?with_dependents=true' : ''}`);
export const deleteJobWhatWouldItDo = (jobId) => get(`/jobs/${id(jobId)}/what-would-delete-do`);
export const fetchJobBlocklist = (jobId) => get(`/jobs/${id(jobId)}/blocklist`);
export const removeJobBlocklist = (jobId, entries) => remove(`/jobs/${id(jobId)}/blocklist`, entries);
export const setJobMaxWorkers = (jobId, maxWorkers) =>
  post(`/jobs/${id(jobId)}/max-workers`, { max_workers: maxWorkers });
export const explainJob = (jobId) => get(`/jobs/${id(jobId)}/explain`);
export const fetchResourceLimits = () => get('/resource-limits');
export const fetchJobLastRenderedInfo = (jobId) => get(`/jobs/${id(jobId)}/last-rendered`);
export const fetchGlobalLastRenderedInfo = () => get('/jobs/last-rendered');
// Job graph (extension): dependencies between jobs, and approval tasks.
export const fetchJobDependencies = (jobId) => get(`/jobs/${id(jobId)}/dependencies`);
export const approveTask = (taskId, comment = '') =>
  post(`/tasks/${id(taskId)}/approve`, comment ? { comment } : {});
export const rejectTask = (taskId, reason) => post(`/tasks/${id(taskId)}/reject`, { reason });
export const fetchJobFrames = (jobId) => get(`/jobs/${id(jobId)}/frames`);
export const rerenderMissingFrames = (jobId) => post(`/jobs/${id(jobId)}/rerender-missing`);

// Tasks
export const fetchTask = (taskId) => get(`/tasks/${id(taskId)}`);
export const setTaskStatus = (taskId, status, reason) =>
  post(`/tasks/${id(taskId)}/setstatus`, { status, reason });
export const fetchTaskLogTail = (taskId) => get(`/tasks/${id(taskId)}/logtail`);
export const fetchTaskLogInfo = (taskId) => get(`/tasks/${id(taskId)}/log`);

// Workers and tags
export const fetchWorkers = () => get('/worker-mgt/workers');
export const fetchWorker = (workerId) => get(`/worker-mgt/workers/${id(workerId)}`);
export const deleteWorker = (workerId) => remove(`/worker-mgt/workers/${id(workerId)}`);
export const requestWorkerStatusChange = (workerId, status, isLazy) =>
  post(`/worker-mgt/workers/${id(workerId)}/setstatus`, { status, is_lazy: isLazy });
export const setWorkerTags = (workerId, tagIds) =>
  post(`/worker-mgt/workers/${id(workerId)}/settags`, { tag_ids: tagIds });
export const fetchWorkerSleepSchedule = (workerId) =>
  get(`/worker-mgt/workers/${id(workerId)}/sleep-schedule`);
export const setWorkerSleepSchedule = (workerId, schedule) =>
  post(`/worker-mgt/workers/${id(workerId)}/sleep-schedule`, schedule);
export const fetchWorkerTags = () => get('/worker-mgt/tags');
export const createWorkerTag = (tag) => post('/worker-mgt/tags', tag);
export const updateWorkerTag = (tagId, tag) => put(`/worker-mgt/tag/${id(tagId)}`, tag);
export const deleteWorkerTag = (tagId) => remove(`/worker-mgt/tag/${id(tagId)}`);

// Notifications (extension): the outbox's recent deliveries.
export const fetchNotificationDeliveries = (limit = 100) => get(`/notifications/deliveries?limit=${limit}`);
export const retryNotificationDelivery = (deliveryId) =>
  post(`/notifications/deliveries/${id(String(deliveryId))}/retry`);
// Render statistics (extension)
export const fetchJobRenderStatistics = (jobId) => get(`/statistics/jobs/${id(jobId)}`);
export const fetchWorkerUtilisation = (workerId, since, until) =>
  get(`/statistics/workers/${id(workerId)}/utilisation?since=${id(since)}&until=${id(until)}`);
export const fetchFarmUtilisation = (since, until) =>
  get(`/statistics/farm/utilisation?since=${id(since)}&until=${id(until)}`);
export const statisticsCsvUrl = (path) => `${BASE}/statistics/${path}${path.includes('?') ? '&' : '?'}format=csv`;
