"""Packing a blend file with Blender Asset Tracer, into shared storage or through Shaman (no bpy).

The work runs in a thread so that Blender stays responsive; the thread talks
back only through `PackJob.messages`, which the operator reads on Blender's
main thread (bpy may only be touched there).
"""

import dataclasses
import logging
import queue
import tempfile
import threading
from pathlib import Path, PurePath
from typing import Any, List, Optional

from . import bat_loader, shaman, submission
from .manager_client import ManagerClient

log = logging.getLogger(__name__)


# -- messages from the pack thread -------------------------------------------


@dataclasses.dataclass
class Status:
    """What the pack is doing; `status` is one of the WindowManager status enum's items."""

    status: str
    text: str = ""


@dataclasses.dataclass
class Progress:
    percent: int
    text: str = ""


@dataclasses.dataclass
class MissingFile:
    path: str


@dataclasses.dataclass
class Done:
    blendfile_on_farm: str
    shaman_checkout_id: Optional[str]
    missing_files: List[str]


@dataclasses.dataclass
class Failed:
    message: str


@dataclasses.dataclass
class Aborted:
    reason: str = "aborted"


FINAL_MESSAGES = (Done, Failed, Aborted)


class PackJob(threading.Thread):
    """Packs `blendfile` (inside `project_root`) and sends it to the farm.

    method COPY: into `pack_directory`, a new folder in the shared storage.
    method SHAMAN: uploads through `client` and checks out at `checkout_path`.
    """

    def __init__(
        self,
        blendfile: Path,
        project_root: Path,
        method: str,
        *,
        pack_directory: Optional[Path] = None,
        client: Optional[ManagerClient] = None,
        checkout_path: str = "",
        relative_only: bool = True,
    ) -> None:
        super().__init__(name="flamenco-pack", daemon=True)
        if method == submission.COPY and pack_directory is None:
            raise ValueError("copying needs a pack directory")
        if method == submission.SHAMAN and (client is None or not checkout_path):
            raise ValueError("Shaman needs a client and a checkout path")
        self.blendfile = blendfile
        self.project_root = project_root
        self.method = method
        self.pack_directory = pack_directory
        self.client = client
        self.checkout_path = checkout_path
        self.relative_only = relative_only
        self.messages: "queue.Queue[Any]" = queue.Queue()
        self._abort_requested = threading.Event()
        self._packer: Any = None
        self._packer_lock = threading.Lock()

    def abort(self) -> None:
        """Ask the pack to stop; safe from any thread. An Aborted message follows."""
        self._abort_requested.set()
        with self._packer_lock:
            if self._packer is not None:
                self._packer.abort("aborted by the artist")

    @property
    def abort_requested(self) -> bool:
        return self._abort_requested.is_set()

    def run(self) -> None:
        try:
            self.messages.put(self._pack())
        except bat_loader.BATMissing as error:
            self.messages.put(Failed(str(error)))
        except Exception as error:
            log.exception("packing %s failed", self.blendfile)
            if self.abort_requested:
                self.messages.put(Aborted())
            else:
                self.messages.put(Failed("Could not pack the blend file: %s" % error))

    def _pack(self) -> Any:
        bat_pack = bat_loader.load()
        from blender_asset_tracer.pack import transfer as bat_transfer

        self.messages.put(Status("INVESTIGATING", "Finding the files the blend file uses"))
        with tempfile.TemporaryDirectory(prefix="flamenco-shaman-") as scratch:
            if self.method == submission.SHAMAN:
                # Shaman packs are never written locally; BAT only needs a
                # target path to compute the paths inside the pack.
                target = Path(scratch) / "pack"
                packer_class = _shaman_packer_class(bat_pack, bat_transfer)
                packer = packer_class(
                    self.blendfile,
                    self.project_root,
                    str(target),
                    relative_only=self.relative_only,
                )
                packer.shaman_job = self
            else:
                assert self.pack_directory is not None
                target = self.pack_directory
                packer = bat_pack.Packer(
                    self.blendfile,
                    self.project_root,
                    str(target),
                    relative_only=self.relative_only,
                )
            with self._packer_lock:
                self._packer = packer
                if self.abort_requested:
                    packer.abort("aborted by the artist")
            try:
                packer.progress_cb = _progress_reporter(self.messages)
                packer.strategise()
                packer.execute()
            except bat_pack.Aborted as error:
                if self.abort_requested:
                    return Aborted()
                return Failed(str(error) or "packing stopped")
            finally:
                with self._packer_lock:
                    self._packer = None
                packer.close()

            missing = sorted(str(path) for path in packer.missing_files)
            if self.method == submission.SHAMAN:
                relpath = PurePath(packer.output_path).relative_to(packer._target_path)
                checkout = packer.shaman_checkout_result
                return Done(
                    blendfile_on_farm=submission.shaman_blendfile_path(checkout, relpath),
                    shaman_checkout_id=checkout,
                    missing_files=missing,
                )
            return Done(
                blendfile_on_farm=submission.farm_path(PurePath(packer.output_path)),
                shaman_checkout_id=None,
                missing_files=missing,
            )


def _progress_reporter(messages: "queue.Queue[Any]") -> Any:
    """BAT progress callbacks turned into messages (the class is built once BAT is imported)."""
    from blender_asset_tracer.pack import progress

    class Reporter(progress.Callback):  # type: ignore[misc, name-defined]
        def pack_start(self) -> None:
            messages.put(Status("INVESTIGATING", "Finding the files the blend file uses"))

        def trace_blendfile(self, filename: Path) -> None:
            messages.put(Status("INVESTIGATING", "Investigating %s" % Path(filename).name))

        def rewrite_blendfile(self, orig_filename: Path) -> None:
            messages.put(Status("REWRITING", "Rewriting %s" % Path(orig_filename).name))

        def transfer_file(self, src: Path, dst: PurePath) -> None:
            messages.put(Status("TRANSFERRING", "Copying %s" % Path(src).name))

        def transfer_progress(self, total_bytes: int, transferred_bytes: int) -> None:
            if total_bytes > 0:
                messages.put(Progress(int(100 * transferred_bytes / total_bytes)))

        def missing_file(self, filename: Path) -> None:
            messages.put(MissingFile(str(filename)))

    return Reporter()


def _shaman_packer_class(bat_pack: Any, bat_transfer: Any) -> Any:
    """A BAT Packer whose file transfer goes to Shaman (classes built once BAT is imported)."""

    class ShamanTransferrer(bat_transfer.FileTransferer):  # type: ignore[misc, name-defined]
        """Collects every file BAT queues, then hands them all to the Shaman uploader.

        Shaman needs the complete list before it can say what to upload, so
        nothing is sent until BAT has queued its last file.
        """

        def __init__(self, job: PackJob, target: PurePath) -> None:
            super().__init__()
            self.job = job
            self.target = target
            self.checkout_result = ""

        def run(self) -> None:
            files: List[shaman.PackedFile] = []
            for source, destination, _action in self.iter_queue():
                relpath = PurePath(destination).relative_to(self.target).as_posix()
                # BAT queues rewritten blend files as moves from its temporary
                # folder, which lives until the packer closes: read them there.
                files.append(shaman.PackedFile(source=Path(source), relpath=relpath))
            if self._abort.is_set() or self.has_error:
                return
            try:
                self.checkout_result = self._upload(files)
            except shaman.Aborted:
                self.abort()
            except (shaman.ShamanError, OSError) as error:
                self.error_set(str(error))

        def _upload(self, files: List[shaman.PackedFile]) -> str:
            assert self.job.client is not None

            def progress(text: str, done: int, total: int) -> None:
                status = "TRANSFERRING" if text.startswith("Upload") else "INVESTIGATING"
                if text.startswith("Creating"):
                    status = "COMMUNICATING"
                self.job.messages.put(Status(status, text))
                if total:
                    self.job.messages.put(Progress(int(100 * done / total), text))

            uploader = shaman.ShamanUploader(
                self.job.client,
                files,
                self.job.checkout_path,
                progress=progress,
                should_abort=lambda: self._abort.is_set() or self.job.abort_requested,
            )
            return uploader.run()

    class ShamanPacker(bat_pack.Packer):  # type: ignore[misc, name-defined]
        shaman_job: PackJob
        shaman_checkout_result = ""

        def _create_file_transferer(self) -> Any:
            return ShamanTransferrer(self.shaman_job, self._target_path)

        def _on_file_transfer_finished(self, *, file_transfer_completed: bool) -> None:
            transferrer = self._file_transferer
            if transferrer is not None:
                self.shaman_checkout_result = transferrer.checkout_result

    return ShamanPacker
