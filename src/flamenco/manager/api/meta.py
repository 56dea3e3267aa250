"""Handlers for the `meta` tag: version, configuration, variables, storage and farm status."""

from __future__ import annotations

import asyncio
import dataclasses

from aiohttp import web

from flamenco import FLAMENCO_API_VERSION, __version__
from flamenco.manager import config, keys
from flamenco.manager.access.roles import Role
from flamenco.manager.api.errors import error_response
from flamenco.manager.services import setup_assistant, setup_checks


def version_info(manager_name: str) -> dict[str, str]:
    return {
        "version": f"{FLAMENCO_API_VERSION} (flamenco-py {__version__})",
        "shortversion": FLAMENCO_API_VERSION,
        "name": manager_name,
        "git": f"flamenco-py-{__version__}",
    }


async def get_version(request: web.Request) -> web.Response:
    return web.json_response(version_info(request.app[keys.CONFIG].config.manager_name))


async def get_configuration(request: web.Request) -> web.Response:
    loaded = request.app[keys.CONFIG]
    return web.json_response(
        {
            "storageLocation": config.effective_storage_location(loaded),
            "shamanEnabled": config.effective_shaman_enabled(loaded),
            "isFirstRun": loaded.is_first_run,
        }
    )


async def get_configuration_file(request: web.Request) -> web.Response:
    return web.json_response(config.config_to_json(request.app[keys.CONFIG].config))


async def update_configuration_file(request: web.Request) -> web.Response:
    """Validate and write the file; running services keep their settings until a restart."""
    loaded = request.app[keys.CONFIG]
    new_config = config.config_from_json(request[keys.VALIDATED].body)
    await asyncio.to_thread(config.write_config, new_config, loaded.path)
    return web.Response(status=204)


async def get_variables(request: web.Request) -> web.Response:
    variables = request.app[keys.VARIABLES].for_audience(
        request.match_info["audience"], request.match_info["platform"]
    )
    return web.json_response(
        {
            name: {"name": name, "value": info.value, "is_twoway": info.is_twoway}
            for name, info in variables.items()
        }
    )


async def get_shared_storage(request: web.Request) -> web.Response:
    audience = request.match_info["audience"]
    platform = request.match_info["platform"]
    loaded = request.app[keys.CONFIG]
    return web.json_response(
        {
            "location": request.app[keys.VARIABLES].shared_storage_location(audience, platform),
            "audience": audience,
            "platform": platform,
            "shamanEnabled": config.effective_shaman_enabled(loaded),
        }
    )


async def get_farm_status(request: web.Request) -> web.Response:
    return web.json_response(request.app[keys.FARM_STATUS].report())


async def check_shared_storage_path(request: web.Request) -> web.Response:
    path = str((request[keys.VALIDATED].body or {}).get("path", ""))
    loaded = request.app[keys.CONFIG]
    result = await asyncio.to_thread(
        setup_checks.check_shared_storage_blocking, path, forbidden=(loaded.config_dir,)
    )
    return web.json_response(
        {"path": result.path, "is_usable": result.is_usable, "cause": result.cause}
    )


def _blender_body(check: setup_checks.BlenderCheck) -> dict[str, object]:
    return {
        "input": check.input,
        "path": check.path,
        "source": check.source,
        "is_usable": check.is_usable,
        "cause": check.cause,
    }


async def find_blender_exe_path(request: web.Request) -> web.Response:
    return web.json_response([_blender_body(check) for check in await setup_checks.find_blender()])


async def check_blender_exe_path(request: web.Request) -> web.Response:
    command = str((request[keys.VALIDATED].body or {}).get("path", ""))
    if not command.strip():
        return error_response(400, "give a command or path to check")
    check = await setup_checks.check_blender(command, source="input_path")
    return web.json_response(_blender_body(check))


async def save_setup_assistant_config(request: web.Request) -> web.Response:
    """Write the assistant's answers to the configuration file, then restart the Manager."""
    body = request[keys.VALIDATED].body or {}
    loaded = request.app[keys.CONFIG]
    storage = str(body.get("storageLocation", ""))
    check = await asyncio.to_thread(
        setup_checks.check_shared_storage_blocking, storage, forbidden=(loaded.config_dir,)
    )
    if not check.is_usable:
        return error_response(400, f"shared storage {storage!r} is not usable: {check.cause}")
    new_config = setup_assistant.apply_setup(
        loaded.config, storage_location=storage, blender=body.get("blenderExecutable") or {}
    )
    administrator = body.get("administrator")
    if isinstance(administrator, dict):
        name = str(administrator.get("name", "")).strip()
        if not name or "password" not in administrator:
            return error_response(400, "the administrator needs a name and a password")
        try:
            await request.app[keys.ACCESS].save_user(
                name, Role.ADMIN, str(administrator["password"])
            )
        except ValueError as problem:
            return error_response(400, str(problem))
        # From the restart on, nothing gets in without logging in.
        new_config = dataclasses.replace(new_config, access_control=True)
    await asyncio.to_thread(config.write_config, new_config, loaded.path)
    request.app[keys.RESTART].request()
    return web.Response(status=204)
