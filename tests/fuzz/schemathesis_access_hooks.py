"""Schemathesis hooks for fuzzing a Manager with access control on, without any credentials."""

from __future__ import annotations

from typing import Any

import schemathesis

# Anyone may try to log in; a login without the password gets nothing. The login page
# learns the login methods, and single sign-on's callback checks the provider's answer.
PUBLIC_OPERATIONS = (
    "logIn",
    "logOut",
    "fetchLoginMethods",
    "startSingleSignOn",
    "finishSingleSignOn",
)


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    """No credentials at all: whatever schemathesis would send for a security scheme goes."""
    if case.headers:
        case.headers = {
            name: value for name, value in case.headers.items() if name.lower() != "authorization"
        }
    return case


@schemathesis.check
def nothing_without_credentials(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every operation answers 401 to a request without credentials, whatever else it holds."""
    if case.operation.definition.raw.get("operationId") in PUBLIC_OPERATIONS:
        return None
    if case.method.upper() != case.operation.method.upper():
        # A method the path does not have: 405, no operation is reached.
        return None
    if response.status_code != 401:
        raise AssertionError(
            f"{case.method} {case.formatted_path} answered {response.status_code} "
            "without credentials, not 401"
        )
    return True
