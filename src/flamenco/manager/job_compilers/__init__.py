"""Job compilers: job types defined by JavaScript scripts, and compiling jobs into tasks."""

from __future__ import annotations

from flamenco.manager.job_compilers.compiler import JobCompilers
from flamenco.manager.job_compilers.errors import (
    JobCompileError,
    JobCompilerError,
    JobScriptBroken,
    JobScriptLimitExceeded,
    JobSettingsInvalid,
    JobTypeEtagMismatch,
    JobTypeUnknown,
)
from flamenco.manager.job_compilers.models import (
    AuthoredCommand,
    AuthoredJob,
    AuthoredTask,
    BrokenJobType,
    JobTypeListing,
)

__all__ = [
    "AuthoredCommand",
    "AuthoredJob",
    "AuthoredTask",
    "BrokenJobType",
    "JobCompileError",
    "JobCompilerError",
    "JobCompilers",
    "JobScriptBroken",
    "JobScriptLimitExceeded",
    "JobSettingsInvalid",
    "JobTypeEtagMismatch",
    "JobTypeListing",
    "JobTypeUnknown",
]
