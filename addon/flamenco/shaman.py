"""Uploading a pack through the Manager's Shaman API and creating its checkout (no bpy).

The flow follows upstream's add-on: hash every file; send the list to
`checkout/requirements` to learn which files the Manager lacks; for each of
those ask `GET files/{sha}/{size}` first (another client may have uploaded it
meanwhile), then upload it with `X-Shaman-Can-Defer-Upload` so that a file
someone else is already uploading can be left for later (425); repeat with a
fresh requirements round until nothing is deferred or failed; then ask for the
checkout, which the Manager may place at another path than requested.
"""

import dataclasses
import email.header
import hashlib
import logging
import random
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .manager_client import ManagerClient, ManagerError

log = logging.getLogger(__name__)

# At most this many files are left for later per round, so that a round
# always makes progress (upstream's limit).
MAX_DEFERRED = 8
# Requirements/upload rounds before giving up (upstream's limit).
MAX_ROUNDS = 50
# A file whose upload keeps failing (checksum changes, network errors) fails
# the submission after this many attempts.
MAX_ATTEMPTS_PER_FILE = 5
HASH_BLOCK_SIZE = 1 << 20

ProgressCallback = Callable[[str, int, int], None]  # (text, done, total)
AbortCheck = Callable[[], bool]


class ShamanError(Exception):
    """Shaman could not take the files; the message is for the artist."""


class Aborted(Exception):
    """The artist aborted the upload."""


@dataclasses.dataclass
class PackedFile:
    source: Path  # where to read it on this computer
    relpath: str  # where it goes in the checkout, with forward slashes
    sha: str = ""
    size: int = 0

    def spec(self) -> Dict[str, object]:
        return {"sha": self.sha, "size": self.size, "path": self.relpath}


def encode_original_filename(filename: str) -> str:
    """The X-Shaman-Original-Filename header value: as is for ASCII, else an RFC 2047 word."""
    try:
        filename.encode("ascii")
    except UnicodeEncodeError:
        header = email.header.Header(maxlinelen=0)
        header.append(filename, charset="utf-8")
        # maxlinelen=0 keeps it on one line: header folding is obsolete in HTTP.
        return header.encode().replace("\n", "").replace("\r", "")
    return filename


def sha256_of(path: Path, should_abort: Optional[AbortCheck] = None) -> Tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while True:
            if should_abort is not None and should_abort():
                raise Aborted()
            block = stream.read(HASH_BLOCK_SIZE)
            if not block:
                break
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def upload_order(requirements: Sequence[Dict[str, object]]) -> List[Dict[str, object]]:
    """Files nobody is uploading first, those someone else is uploading last.

    Both groups are shuffled so that two artists sending similar packs at the
    same time rarely upload the same file at once.
    """
    unknown = [spec for spec in requirements if spec.get("status") != "uploading"]
    uploading = [spec for spec in requirements if spec.get("status") == "uploading"]
    random.shuffle(unknown)
    random.shuffle(uploading)
    return unknown + uploading


@dataclasses.dataclass
class _Round:
    deferred: int = 0
    failures: Dict[str, str] = dataclasses.field(default_factory=dict)


class ShamanUploader:
    """Sends one pack to Shaman; `run()` returns the checkout path the Manager used."""

    def __init__(
        self,
        client: ManagerClient,
        files: Sequence[PackedFile],
        checkout_path: str,
        *,
        progress: Optional[ProgressCallback] = None,
        should_abort: Optional[AbortCheck] = None,
        pause_between_rounds: float = 0.5,
    ) -> None:
        self.client = client
        self.files = list(files)
        self.checkout_path = checkout_path
        self._progress = progress or (lambda text, done, total: None)
        self._should_abort = should_abort or (lambda: False)
        self._pause = pause_between_rounds
        self._attempts: Dict[str, int] = {}
        self._ever_deferred: set = set()
        self.uploaded_bytes = 0
        self.uploaded_files = 0

    def run(self) -> str:
        self.hash_files()
        self.upload_missing()
        return self.create_checkout()

    def hash_files(self) -> None:
        for index, packed in enumerate(self.files):
            self._check_abort()
            self._progress("Hashing %s" % Path(packed.relpath).name, index, len(self.files))
            packed.sha, packed.size = sha256_of(packed.source, self._should_abort)

    def _by_path(self) -> Dict[str, PackedFile]:
        return {packed.relpath: packed for packed in self.files}

    def upload_missing(self) -> None:
        """Requirements and upload rounds until the Manager has every file."""
        for round_number in range(1, MAX_ROUNDS + 1):
            self._check_abort()
            needed = self._requirements()
            if not needed:
                return
            log.info("Shaman round %d: %d files to send", round_number, len(needed))
            outcome = self._upload_round(needed)
            if outcome.failures:
                for relpath, message in outcome.failures.items():
                    log.warning("Shaman upload of %s failed: %s", relpath, message)
                hopeless = {
                    relpath: message
                    for relpath, message in outcome.failures.items()
                    if self._attempts.get(relpath, 0) >= MAX_ATTEMPTS_PER_FILE
                }
                if hopeless:
                    raise ShamanError(_failure_message(hopeless))
            if outcome.deferred or outcome.failures:
                # Give the other uploader (or the network) a moment.
                time.sleep(self._pause)
        raise ShamanError(
            "Shaman still lacks files after %d upload rounds; try submitting again" % MAX_ROUNDS
        )

    def _requirements(self) -> List[Dict[str, object]]:
        specs = [packed.spec() for packed in self.files]
        try:
            answer = self.client.shaman_requirements(specs)
        except ManagerError as error:
            raise ShamanError("Shaman refused the file list: %s" % error.message) from None
        needed = answer.get("files") or []
        known = self._by_path()
        for spec in needed:
            if spec.get("path") not in known:
                raise ShamanError("Shaman asked for a file that is not in the pack: %r" % spec)
        return upload_order(needed)

    def _upload_round(self, needed: List[Dict[str, object]]) -> _Round:
        outcome = _Round()
        by_path = self._by_path()
        total = len(needed)
        for index, spec in enumerate(needed):
            self._check_abort()
            packed = by_path[str(spec["path"])]
            self._progress("Uploading %s" % Path(packed.relpath).name, index, total)
            result = self._upload_one(packed, outcome)
            if result == "deferred":
                outcome.deferred += 1
            elif result != "done":
                outcome.failures[packed.relpath] = result
        self._progress("Uploaded", total, total)
        return outcome

    def _upload_one(self, packed: PackedFile, outcome: _Round) -> str:
        """Upload one file: 'done', 'deferred', or an error message."""
        try:
            # Cheap pre-flight: someone else may have finished this file meanwhile.
            status = self.client.shaman_file_status(packed.sha, packed.size)
        except ManagerError as error:
            status = ""
            log.info("Shaman status of %s unknown: %s", packed.relpath, error.message)
        if status == "stored":
            return "done"

        # Leave a file that someone else is uploading for later, but each file
        # only once and a limited number per round.
        can_defer = (
            status == "uploading"
            and outcome.deferred < MAX_DEFERRED
            and packed.relpath not in self._ever_deferred
        )
        self._attempts[packed.relpath] = self._attempts.get(packed.relpath, 0) + 1
        try:
            with packed.source.open("rb") as body:
                code = self.client.shaman_upload(
                    packed.sha,
                    packed.size,
                    body,
                    can_defer=can_defer,
                    original_filename=encode_original_filename(packed.relpath),
                )
        except ManagerError as error:
            if error.status == 417:
                # Size or checksum mismatch: the file changed since it was hashed.
                # The next requirements round asks for it under its new hash.
                try:
                    packed.sha, packed.size = sha256_of(packed.source, self._should_abort)
                except OSError as read_error:
                    return "cannot read %s: %s" % (packed.source, read_error)
            return error.message
        except OSError as error:
            return "cannot read %s: %s" % (packed.source, error)

        if code == 425:
            self._ever_deferred.add(packed.relpath)
            return "deferred"
        if code != 208:
            self.uploaded_files += 1
            self.uploaded_bytes += packed.size
        return "done"

    def create_checkout(self) -> str:
        self._check_abort()
        self._progress("Creating the checkout", 0, 1)
        specs = [packed.spec() for packed in self.files]
        try:
            actual = self.client.shaman_checkout(specs, self.checkout_path)
        except ManagerError as error:
            if error.status == 424:
                raise ShamanError(
                    "Shaman is missing some of the files, so it made no checkout; "
                    "submit again, please"
                ) from None
            if error.status == 409:
                raise ShamanError(
                    "Shaman already has a checkout at %r" % self.checkout_path
                ) from None
            raise ShamanError("Shaman could not create the checkout: %s" % error.message) from None
        log.info("Shaman checkout created at %s", actual)
        return actual

    def _check_abort(self) -> None:
        if self._should_abort():
            raise Aborted()


def _failure_message(failures: Dict[str, str]) -> str:
    first_path, first_message = next(iter(failures.items()))
    if len(failures) == 1:
        return "Could not upload %s to Shaman: %s" % (first_path, first_message)
    return "Could not upload %d files to Shaman, %s first: %s" % (
        len(failures),
        first_path,
        first_message,
    )
