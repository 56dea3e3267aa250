"""What the Manager serves beside the API: the web interface, the add-on, the API explorer."""

from __future__ import annotations

from aiohttp import web

from flamenco.manager.config import ManagerConfig
from flamenco.manager.services.local_storage import JOB_FILES_URL_PREFIX, LocalStorage
from flamenco.manager.web import addon_zip, app_files, swagger_ui, upnp_description


def setup_routes(app: web.Application, settings: ManagerConfig, storage: LocalStorage) -> None:
    """Route everything a browser, the add-on or a Worker fetches outside the REST API."""
    swagger_ui.setup_routes(app)
    addon_zip.setup_routes(app)
    # Task logs and last-rendered images, as upstream serves them.
    app.router.add_static(JOB_FILES_URL_PREFIX, storage.root, append_version=False)
    app_files.setup_web_app_routes(app)
    if settings.autodiscoverable:
        upnp_description.setup_routes(app, settings.manager_name)
