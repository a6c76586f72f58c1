"""Known deviations (`--expectations FILE`), applied strictly.

File format (YAML): a list, or a mapping with key `expectations` holding the list, of entries
    - clause: AUTH-SOURCEID-NO-BYPASS      # a catalogue id
      reason: why the target deviates
      evidence: issue link, log, commit...
      profile: milvus-2.3                  # optional: only applies to this profile
      intermittent: true                   # optional: a race that some runs do not hit

A listed clause that fails becomes `known-deviation` (the run still passes); one that passes
becomes `stale-expectation`, which fails the run so outdated expectations get removed.
An `intermittent` entry is the exception: real servers race (e.g. asynchronous cache
invalidation), so a run that does not hit the race stays `pass`, with a note saying the
expected deviation was not observed this time, instead of failing as stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from conformance.report.model import ClauseResult

_REQUIRED = ("clause", "reason", "evidence")
_ALLOWED = frozenset({*_REQUIRED, "profile", "intermittent"})


class ExpectationsError(ValueError):
    """The expectations file is unreadable or malformed."""


@dataclass(frozen=True)
class Expectation:
    clause: str
    reason: str
    evidence: str
    profile: str | None = None
    intermittent: bool = False

    def as_dict(self) -> dict[str, str | bool]:
        data: dict[str, str | bool] = {"reason": self.reason, "evidence": self.evidence}
        if self.profile:
            data["profile"] = self.profile
        if self.intermittent:
            data["intermittent"] = True
        return data


def load_expectations(
    path: Path, known_clauses: Iterable[str], known_profiles: Iterable[str] | None = None
) -> list[Expectation]:
    where = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExpectationsError(f"cannot read expectations file {where}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ExpectationsError(f"expectations file {where} is not valid YAML: {exc}") from exc
    if raw is None:
        return []
    entries = raw.get("expectations") if isinstance(raw, dict) else raw
    if isinstance(raw, dict) and set(raw) != {"expectations"}:
        raise ExpectationsError(f"{where}: top-level mapping may only contain 'expectations'")
    if not isinstance(entries, list):
        raise ExpectationsError(f"{where}: expected a list of expectation entries")
    known = set(known_clauses)
    profiles = set(known_profiles) if known_profiles is not None else None
    result: list[Expectation] = []
    seen: set[tuple[str, str | None]] = set()
    for index, entry in enumerate(entries, start=1):
        item = _validate_entry(entry, f"{where}: entry {index}", known, profiles)
        key = (item.clause, item.profile)
        if key in seen:
            raise ExpectationsError(f"{where}: entry {index}: clause {item.clause} listed twice")
        seen.add(key)
        result.append(item)
    return result


def _validate_entry(
    entry: object, where: str, known: set[str], profiles: set[str] | None
) -> Expectation:
    if not isinstance(entry, dict):
        raise ExpectationsError(f"{where}: expected a mapping with keys {', '.join(_REQUIRED)}")
    unknown_keys = sorted(set(map(str, entry)) - _ALLOWED)
    if unknown_keys:
        raise ExpectationsError(f"{where}: unknown key(s) {', '.join(unknown_keys)}")
    for key in _REQUIRED:
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ExpectationsError(f"{where}: '{key}' must be a non-empty string")
    clause = entry["clause"].strip()
    if clause not in known:
        raise ExpectationsError(f"{where}: unknown clause id {clause!r} (not in the catalogue)")
    profile = entry.get("profile")
    if profile is not None:
        if not isinstance(profile, str) or not profile.strip():
            raise ExpectationsError(f"{where}: 'profile' must be a non-empty string")
        if profiles is not None and profile not in profiles:
            raise ExpectationsError(
                f"{where}: unknown profile {profile!r}; known: {', '.join(sorted(profiles))}"
            )
    intermittent = entry.get("intermittent", False)
    if not isinstance(intermittent, bool):
        raise ExpectationsError(f"{where}: 'intermittent' must be true or false")
    return Expectation(
        clause, entry["reason"].strip(), entry["evidence"].strip(), profile, intermittent
    )


def apply_expectations(
    results: list[ClauseResult], expectations: Iterable[Expectation], profile: str
) -> list[ClauseResult]:
    """Turn expected failures into known-deviation and expected-but-passing into stale."""
    active = {e.clause: e for e in expectations if e.profile in (None, profile)}
    applied: list[ClauseResult] = []
    for result in results:
        expectation = active.get(result.info.id)
        if expectation is None:
            applied.append(result)
        elif result.status == "fail":
            applied.append(
                replace(result, status="known-deviation", expectation=expectation.as_dict())
            )
        elif result.status == "pass" and expectation.intermittent:
            note = (
                "intermittent deviation not observed in this run "
                f"(expected because: {expectation.reason})"
            )
            applied.append(replace(result, message=note, expectation=expectation.as_dict()))
        elif result.status == "pass":
            stale_note = (
                f"expected deviation no longer occurs (reason was: {expectation.reason}); "
                "remove it from the expectations file"
            )
            applied.append(
                replace(
                    result,
                    status="stale-expectation",
                    message=stale_note,
                    expectation=expectation.as_dict(),
                )
            )
        else:  # error / not-applicable: the expectation could not be checked
            applied.append(replace(result, expectation=expectation.as_dict()))
    return applied
