"""Every error Shaman raises, each naming the HTTP status the Manager answers it with.

ShamanError
├── ShamanDisabled            503  Shaman is off (configuration or first run)
├── InvalidRequest            400  the request itself is wrong
│   ├── InvalidFileKey              checksum or size that cannot name a file
│   ├── InvalidOriginalFilename     X-Shaman-Original-Filename cannot be decoded
│   ├── InvalidCheckoutPath         checkout path absolute, with `..`, or through a link
│   ├── InvalidFilePath             a file path that would leave its checkout
│   └── UploadInterrupted           the request body ended before its end
├── UploadMismatch            417  the body does not match the checksum or size
│   ├── SizeMismatch
│   └── ChecksumMismatch
├── CheckoutExists            409  no free directory name for the checkout
└── MissingFiles              424  the checkout needs files Shaman does not have
"""

from __future__ import annotations


class ShamanError(Exception):
    """Something went wrong in Shaman."""

    status = 500

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (type(self).__doc__ or "Shaman error").strip()
        super().__init__(self.message)


class ShamanDisabled(ShamanError):
    """shaman server not active: Shaman is disabled in the configuration"""

    status = 503


class InvalidRequest(ShamanError):
    """The request to Shaman is not valid."""

    status = 400


class InvalidFileKey(InvalidRequest):
    """A checksum must be 64 hexadecimal digits and a size a number of bytes."""


class InvalidOriginalFilename(InvalidRequest):
    """The X-Shaman-Original-Filename header cannot be decoded."""


class InvalidCheckoutPath(InvalidRequest):
    """The checkout path is not a valid relative path inside the checkout directory."""


class InvalidFilePath(InvalidRequest):
    """A file path is not a valid relative path inside its checkout."""


class UploadInterrupted(InvalidRequest):
    """The upload ended before the whole request body arrived."""


class UploadMismatch(ShamanError):
    """The uploaded content does not match the checksum or size in the URL."""

    status = 417


class SizeMismatch(UploadMismatch):
    def __init__(self, declared: int, received: int) -> None:
        self.declared = declared
        self.received = received
        # Upstream's exact wording: the add-on shows it to the artist.
        super().__init__(f"file size mismatched, declared {declared} but received {received} bytes")


class ChecksumMismatch(UploadMismatch):
    def __init__(self, declared: str, received: str) -> None:
        self.declared = declared
        self.received = received
        super().__init__(f"file SHA256 mismatched, declared {declared} but received {received}")


class CheckoutExists(ShamanError):
    """A checkout already exists at that path, and no free name was found next to it."""

    status = 409


class MissingFiles(ShamanError):
    """The checkout needs files that have not been uploaded yet."""

    status = 424

    def __init__(self, missing: list[tuple[str, str, int]]) -> None:
        self.missing = missing
        shown = ", ".join(path for path, _, _ in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        super().__init__(
            f"{len(missing)} file(s) not uploaded yet, checkout aborted: {shown}{more}"
        )
