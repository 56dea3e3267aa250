"""Job compiler errors, each carrying a message fit for an API error body.

JobCompilerError
 +-- JobTypeUnknown          no job type of that name (404 on lookup, 400 on submit)
 +-- JobTypeEtagMismatch     the submission was made for an older version of the type (412)
 +-- JobSettingsInvalid      a setting is missing, of the wrong type or not one of its choices (400)
 +-- JobCompileError         the script threw while compiling the job (400)
 +-- JobScriptLimitExceeded  the script ran out of time or memory and was stopped (400)
 +-- JobScriptBroken         the job type's script file does not load (400)
"""

from __future__ import annotations


class JobCompilerError(Exception):
    """The job could not be compiled."""

    def __init__(self, message: str | None = None) -> None:
        self.message: str = message or self.__doc__ or ""
        super().__init__(self.message)


class JobTypeUnknown(JobCompilerError):
    """Unknown job type."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"job type {name!r} is unknown")


class JobTypeEtagMismatch(JobCompilerError):
    """The job type changed since the job was prepared; refresh the job types and resubmit."""

    def __init__(self, name: str, expected: str, submitted: str) -> None:
        self.name = name
        self.expected = expected
        self.submitted = submitted
        super().__init__(
            f"job type {name!r} has changed: its etag is {expected!r}, the submitted job has "
            f"{submitted!r}; refresh the job types and submit again"
        )


class JobSettingsInvalid(JobCompilerError):
    """A job setting is invalid."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


class JobPriorityInvalid(JobCompilerError):
    """A job's priority does not fit the database's 32-bit column."""


class JobCompileError(JobCompilerError):
    """The job type's script failed while compiling the job.

    `script_message` is what the script threw; `file` and `line` say where, when
    that is known (a value thrown from inside the runtime has no script line).
    """

    def __init__(self, script_message: str, *, file: str | None, line: int | None) -> None:
        self.script_message = script_message
        self.file = file
        self.line = line
        super().__init__(_with_location(script_message, file, line))


class JobScriptLimitExceeded(JobCompilerError):
    """The job type's script ran out of time or memory and was stopped."""

    def __init__(self, message: str, *, limit: str) -> None:
        self.limit = limit  # "time" or "memory"
        super().__init__(message)


class JobScriptBroken(JobCompilerError):
    """The job type's script file cannot be loaded."""

    def __init__(self, name: str, file: str, problem: str) -> None:
        self.name = name
        self.file = file
        self.problem = problem
        super().__init__(
            f"job type {name!r} cannot be used, its script {file} is broken: {problem}"
        )


def _with_location(message: str, file: str | None, line: int | None) -> str:
    if file is None:
        return message
    if line is None:
        return f"{message} (in {file})"
    return f"{message} (at {file} line {line})"
