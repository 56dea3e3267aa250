"""Chains of jobs: a job type that stands for several jobs, each waiting for earlier ones (no bpy).

A job type on the Manager may declare `chain` (an extension of Flamenco in
Python): the job types to submit instead of it, in order. Each job of the chain
depends on the one before it, or on the earlier job types named in `dependsOn`.
"""

from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence

from . import job_settings


class ChainError(Exception):
    """The chain cannot be submitted; the message says why, for the artist."""


class ChainLink(NamedTuple):
    job_type: str
    name: str
    # Indices of the earlier links that this job waits for.
    depends_on: List[int]


def links(job_type: Mapping[str, Any]) -> List[ChainLink]:
    """The job type's chain, or an empty list when it is a plain job type."""
    declared = job_type.get("chain")
    if not isinstance(declared, list):
        return []
    result: List[ChainLink] = []
    for index, entry in enumerate(declared):
        if isinstance(entry, str):
            entry = {"type": entry}
        if not isinstance(entry, dict) or not entry.get("type"):
            raise ChainError("entry %d of the chain names no job type" % (index + 1))
        depends_on: List[int] = []
        if "dependsOn" in entry:
            for earlier in entry["dependsOn"] or []:
                depends_on.append(_latest_index(result, str(earlier), index))
        elif index > 0:
            depends_on.append(index - 1)
        result.append(
            ChainLink(str(entry["type"]), str(entry.get("name") or entry["type"]), depends_on)
        )
    return result


def _latest_index(earlier_links: Sequence[ChainLink], job_type: str, index: int) -> int:
    for position in range(len(earlier_links) - 1, -1, -1):
        if earlier_links[position].job_type == job_type:
            return position
    raise ChainError(
        "entry %d of the chain depends on %r, which is not earlier in the chain"
        % (index + 1, job_type)
    )


def member_settings(
    member_type: Mapping[str, Any],
    chain_values: Mapping[str, Any],
    evaluate: Callable[[Dict[str, Any]], Any],
) -> Dict[str, Any]:
    """The settings of one job of the chain.

    A setting the chain job type also has takes the artist's value from it; others
    are evaluated (`eval`), else get their default. `evaluate` may raise
    job_settings.SettingEvalError.
    """
    values: Dict[str, Any] = {}
    for setting in member_type.get("settings") or []:
        key = setting.get("key") if isinstance(setting, dict) else None
        if not isinstance(key, str):
            continue
        if key in chain_values:
            values[key] = chain_values[key]
        elif setting.get("eval"):
            values[key] = evaluate(setting)
        elif setting.get("default") is not None:
            values[key] = job_settings.coerce(
                job_settings.setting_type(setting), setting["default"]
            )
    return values


def job_name(chain_job_name: str, link: ChainLink) -> str:
    return "%s - %s" % (chain_job_name, link.name)


def find_job_type(available: Sequence[Mapping[str, Any]], name: str) -> Optional[Mapping[str, Any]]:
    for job_type in available:
        if job_type.get("name") == name:
            return job_type
    return None


def parse_job_ids(text: str) -> List[str]:
    """The job IDs a script gave as `depends_on`: separated by commas or spaces."""
    return [part for part in text.replace(",", " ").split() if part]
