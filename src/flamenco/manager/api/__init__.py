"""The REST API: one handler per operationId of the spec, routed from the spec's paths."""

from __future__ import annotations

from typing import NoReturn

from aiohttp import hdrs, web

from flamenco.manager import keys
from flamenco.manager.api import (
    access,
    job_output,
    jobs,
    log_stream,
    meta,
    notifications,
    shaman,
    statistics,
    work_notices,
    worker,
    worker_mgt,
)
from flamenco.manager.api.errors import Handler
from flamenco.manager.api.openapi import Operation, Spec

HANDLERS: dict[str, Handler] = {
    # meta
    "getVersion": meta.get_version,
    "getConfiguration": meta.get_configuration,
    "checkSharedStoragePath": meta.check_shared_storage_path,
    "findBlenderExePath": meta.find_blender_exe_path,
    "checkBlenderExePath": meta.check_blender_exe_path,
    "saveSetupAssistantConfig": meta.save_setup_assistant_config,
    "getConfigurationFile": meta.get_configuration_file,
    "updateConfigurationFile": meta.update_configuration_file,
    "getVariables": meta.get_variables,
    "getSharedStorage": meta.get_shared_storage,
    "getFarmStatus": meta.get_farm_status,
    # worker
    "registerWorker": worker.register_worker,
    "signOn": worker.sign_on,
    "signOff": worker.sign_off,
    "workerState": worker.worker_state,
    "workerStateChanged": worker.worker_state_changed,
    "scheduleTask": worker.schedule_task,
    "taskUpdate": worker.task_update,
    "mayWorkerRun": worker.may_worker_run,
    "taskOutputProduced": worker.task_output_produced,
    "streamTaskLogs": log_stream.stream_task_logs,
    "streamWorkNotices": work_notices.stream_work_notices,
    # worker-mgt
    "fetchWorkers": worker_mgt.fetch_workers,
    "fetchWorker": worker_mgt.fetch_worker,
    "deleteWorker": worker_mgt.delete_worker,
    "requestWorkerStatusChange": worker_mgt.request_worker_status_change,
    "setWorkerTags": worker_mgt.set_worker_tags,
    "fetchWorkerSleepSchedule": worker_mgt.fetch_worker_sleep_schedule,
    "setWorkerSleepSchedule": worker_mgt.set_worker_sleep_schedule,
    "fetchWorkerTags": worker_mgt.fetch_worker_tags,
    "createWorkerTag": worker_mgt.create_worker_tag,
    "fetchWorkerTag": worker_mgt.fetch_worker_tag,
    "updateWorkerTag": worker_mgt.update_worker_tag,
    "deleteWorkerTag": worker_mgt.delete_worker_tag,
    # jobs
    "getJobTypes": jobs.get_job_types,
    "getJobType": jobs.get_job_type,
    "fetchJobs": jobs.fetch_jobs,
    "submitJob": jobs.submit_job,
    "deleteJobMass": jobs.delete_job_mass,
    "submitJobCheck": jobs.submit_job_check,
    "fetchJob": jobs.fetch_job,
    "deleteJob": jobs.delete_job,
    "deleteJobWhatWouldItDo": jobs.delete_job_what_would_it_do,
    "fetchJobLastRenderedInfo": jobs.fetch_job_last_rendered_info,
    "fetchGlobalLastRenderedInfo": jobs.fetch_global_last_rendered_info,
    "setJobStatus": jobs.set_job_status,
    "setJobPriority": jobs.set_job_priority,
    "setJobTag": jobs.set_job_tag,
    "fetchJobTasks": jobs.fetch_job_tasks,
    "fetchJobBlocklist": jobs.fetch_job_blocklist,
    "removeJobBlocklist": jobs.remove_job_blocklist,
    "fetchTask": jobs.fetch_task,
    "fetchTaskLogTail": jobs.fetch_task_log_tail,
    "fetchTaskLogInfo": jobs.fetch_task_log_info,
    "setTaskStatus": jobs.set_task_status,
    # resource limits and scheduling explainer (extension)
    "setJobMaxWorkers": jobs.set_job_max_workers,
    "explainJob": jobs.explain_job,
    "fetchResourceLimits": jobs.fetch_resource_limits,
    # job graph (extension)
    "fetchJobDependencies": jobs.fetch_job_dependencies,
    "approveTask": jobs.approve_task,
    "rejectTask": jobs.reject_task,
    # jobs: output checks (extension)
    "fetchJobFrames": job_output.fetch_job_frames,
    "fetchJobFrameThumbnail": job_output.fetch_job_frame_thumbnail,
    "rerenderMissingFrames": job_output.rerender_missing_frames,
    # shaman
    "shamanCheckoutRequirements": shaman.shaman_checkout_requirements,
    "shamanCheckout": shaman.shaman_checkout,
    "shamanFileStoreCheck": shaman.shaman_file_store_check,
    "shamanFileStore": shaman.shaman_file_store,
    # notifications (extension)
    "fetchNotificationDeliveries": notifications.fetch_notification_deliveries,
    "retryNotificationDelivery": notifications.retry_notification_delivery,
    # statistics (extension)
    "fetchJobRenderStatistics": statistics.fetch_job_render_statistics,
    "fetchJobTaskRuns": statistics.fetch_job_task_runs,
    "fetchWorkerUtilisation": statistics.fetch_worker_utilisation,
    "fetchFarmUtilisation": statistics.fetch_farm_utilisation,
    # access control (extension)
    "fetchCurrentPrincipal": access.fetch_current_principal,
    "fetchAccessTokens": access.fetch_access_tokens,
    "createAccessToken": access.create_access_token,
    "revokeAccessToken": access.revoke_access_token,
    "logIn": access.log_in,
    "logOut": access.log_out,
    "fetchUsers": access.fetch_users,
    "saveUser": access.save_user,
    "deleteUser": access.delete_user,
    "fetchAuditLog": access.fetch_audit_log,
    # single sign-on (extension)
    "fetchLoginMethods": access.fetch_login_methods,
    "startSingleSignOn": access.start_single_sign_on,
    "finishSingleSignOn": access.finish_single_sign_on,
}


SPEC_URL = "/api/v3/openapi3.json"


def setup_routes(app: web.Application, spec: Spec) -> None:
    """Route every operation of the spec to its handler, named after its operationId."""
    app.router.add_get(SPEC_URL, _serve_spec)
    missing = set(spec.operations) - set(HANDLERS)
    if missing:
        raise RuntimeError(f"operations without a handler: {sorted(missing)}")
    # Fixed paths first, so that /jobs/types is not taken for /jobs/{job_id}.
    ordered = sorted(spec.operations.values(), key=lambda op: ("{" in op.path, op.path))
    for operation in ordered:
        app.router.add_route(
            operation.method,
            operation.path,
            HANDLERS[operation.operation_id],
            name=operation.operation_id,
        )
    _refuse_other_methods_on_fixed_paths(app, ordered)


def _refuse_other_methods_on_fixed_paths(app: web.Application, operations: list[Operation]) -> None:
    """Answer 405 with a fixed path's own methods, for methods it does not have.

    Without this, aiohttp goes on to /jobs/{job_id} for `PUT /jobs/check`: the
    Allow header then lists the job's methods too, and `GET /jobs/check` reaches
    fetchJob with the job ID "check".
    """
    methods_by_path: dict[str, set[str]] = {}
    for operation in operations:
        if "{" not in operation.path:
            methods_by_path.setdefault(operation.path, set()).add(operation.method.upper())
    for path, methods in methods_by_path.items():
        allowed = frozenset(methods)

        async def refuse(request: web.Request, allowed: frozenset[str] = allowed) -> NoReturn:
            raise web.HTTPMethodNotAllowed(request.method, allowed)

        app.router.add_route(hdrs.METH_ANY, path, refuse)


async def _serve_spec(request: web.Request) -> web.Response:
    return web.Response(body=request.app[keys.SPEC].as_json, content_type="application/json")
