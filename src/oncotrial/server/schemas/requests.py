"""Request bodies of the HTTP API.

Every model forbids unknown fields: a misspelt field (``pasword``) or a field the API does
not take (a ``seed`` for go-live) is a 422 naming it, never silently ignored. Strings have
bounds so that no request can make the service store or hash megabytes, and values are
strict (``"72"`` is not a number, ``1`` is not ``true``), as eligibility data must never be
coerced.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

__all__ = [
    "CODE_PATTERN",
    "CorrectionRequest",
    "GoLiveRequest",
    "LoginRequest",
    "RandomiseRequest",
    "Role",
    "SiteCreate",
    "SubjectCreate",
    "TokenCreate",
    "UnblindRequest",
    "UserCreate",
    "Value",
]

#: identifiers typed by people (site and subject codes, user names): no spaces, no slashes,
#: so that they are safe in a URL path and in a file name
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

Role = Literal["admin", "investigator", "data_manager", "monitor", "unblinded_statistician"]
Code = Annotated[StrictStr, Field(pattern=CODE_PATTERN, max_length=64)]
Password = Annotated[StrictStr, Field(min_length=1, max_length=256)]
Reason = Annotated[StrictStr, Field(min_length=1, max_length=2000, pattern=r"\S")]
#: a value of an eligibility field or a stratification factor as JSON carries it; dates are
#: ISO 8601 strings, and the service checks them against the protocol's field types
Value = StrictBool | StrictInt | StrictFloat | Annotated[StrictStr, Field(max_length=200)] | None
FieldName = Annotated[StrictStr, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoginRequest(_Request):
    username: Code
    password: Password
    trial: Code | None = Field(default=None, description="trial code; default: the server's trial")


class TokenCreate(_Request):
    name: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"\S")]


class SiteCreate(_Request):
    code: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]
    name: Annotated[StrictStr, Field(min_length=1, max_length=200, pattern=r"\S")]
    country: Annotated[StrictStr, Field(pattern=r"^[A-Z]{2,3}$")] | None = None


class UserCreate(_Request):
    username: Code
    password: Annotated[StrictStr, Field(min_length=8, max_length=256)]
    role: Role
    site: Code | None = Field(default=None, description="site code; required for investigators")


class SubjectCreate(_Request):
    subject_code: Code | None = Field(default=None,
                                      description="default: generated as <SITE>-<nnn>")
    site: Code
    eligibility: Annotated[dict[FieldName, Value], Field(max_length=200)]
    factors: Annotated[dict[FieldName, Value], Field(max_length=50)]


class RandomiseRequest(_Request):
    password: Password


class UnblindRequest(_Request):
    password: Password
    reason: Reason


class CorrectionRequest(_Request):
    kind: Literal["randomised_in_error", "wrong_stratum"]
    reason: Reason
    password: Password
    factors: Annotated[dict[FieldName, Value], Field(max_length=50)] | None = None


class GoLiveRequest(_Request):
    per_stratum: Annotated[StrictInt, Field(ge=1, le=100_000)] | None = Field(
        default=None, description="list slots per stratum (block methods); default: the "
                                  "protocol's sample size")
