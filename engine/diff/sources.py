"""Name a policy version and load it: `ID@VERSION`, a version directory, or `git:REF[:WHERE]`.

Forms of a version *spec*:

- `echri-baseline@2026.1`: the directory `<policy-dir>/echri-baseline/2026.1`;
- `policies/echri-baseline/2026.1`: any version directory (a draft works like a released one);
- `git:REF:WHERE`: WHERE (either form above, relative to the current directory) as committed
  at revision REF, read from git's object store without touching the working tree;
- `git:REF` (only for one side of a diff): the other side's version directory at REF; when
  it does not exist there (a pull request that adds a new version), the version it is
  `derived_from`, else the newest version of the same policy at REF.

Every version is validated (engine.validator) and compiled; an invalid one is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine.compiler import CompiledPolicy, compile_policy
from engine.diagnostics import Diagnostic, DiagnosticError, has_errors
from engine.diff import gitread
from engine.loader import load_yaml_bytes
from engine.model import Policy
from engine.repository import VersionSource, load_version_source
from engine.schemas import file_kind
from engine.validator import validate_version

GIT_PREFIX = "git:"
_DIGITS = re.compile(r"[0-9]+")
_AT_FORM = re.compile(r"(?P<policy>[a-z0-9][a-z0-9-]*)@(?P<version>[^@/\\\s]+)", re.ASCII)


class SourceError(DiagnosticError):
    """A version spec cannot be resolved or names an invalid policy version."""


@dataclass(frozen=True, slots=True)
class LoadedVersion:
    """One side of a diff: where it came from, its files and its compiled form."""

    spec: str  # as the user gave it
    location: str  # directory, or git:REF:path
    source: VersionSource
    compiled: CompiledPolicy
    warnings: tuple[Diagnostic, ...] = ()

    @property
    def policy(self) -> Policy:
        return self.compiled.policy


@dataclass(frozen=True, slots=True)
class _Spec:
    text: str
    path: Path | None  # local directory (absolute), None for bare `git:REF`
    ref: str | None = None  # git revision


def _fail(message: str, spec: str | None = None, help: str | None = None) -> SourceError:
    return SourceError([Diagnostic("version-source", message, spec, help=help)])


def _local_path(text: str, policy_dir: Path) -> Path:
    match = _AT_FORM.fullmatch(text)
    if match and not Path(text).is_dir():
        return (policy_dir / match["policy"] / match["version"]).resolve()
    return Path(text).resolve()


def _parse(text: str, policy_dir: Path) -> _Spec:
    if not text.startswith(GIT_PREFIX):
        return _Spec(text, _local_path(text, policy_dir))
    ref, sep, where = text[len(GIT_PREFIX):].partition(":")
    if not ref:
        raise _fail(f"`{text}` names no git revision", help="write `git:REF` or `git:REF:WHERE`")
    return _Spec(text, _local_path(where, policy_dir) if sep and where else None, ref)


def _compiled(spec: str, location: str, src: VersionSource) -> LoadedVersion:
    if not src.docs and not src.diagnostics:
        raise _fail(f"`{spec}` is not a policy version: no policy files at `{location}`", spec)
    policy, found = validate_version(src)
    if policy is None or has_errors(found):
        errors = [d for d in found if d.severity == "error"]
        raise SourceError([*errors, Diagnostic(
            "invalid-version", f"`{spec}` is not a valid policy version", location,
            help="run `echri validate` on it")])
    warnings = tuple(d for d in found if d.severity != "error")
    return LoadedVersion(spec, location, src, compile_policy(policy), warnings)


def _load_dir(spec: _Spec) -> LoadedVersion:
    assert spec.path is not None
    if not (spec.path / "policy.yaml").is_file():
        raise _fail(f"`{spec.text}` is not a policy version: `{spec.path}` has no policy.yaml",
                    spec.text, help="give ID@VERSION, a version directory or git:REF[:WHERE]")
    src = load_version_source(spec.path)
    return _compiled(spec.text, src.display, src)


def _git_source(repo: Path, ref: str, rel: str) -> VersionSource:
    display = f"{GIT_PREFIX}{ref}:{rel}"
    src = VersionSource(path=repo / rel, display=display)
    for name, raw in gitread.read_tree(repo, ref, rel).items():
        doc = load_yaml_bytes(raw, f"{display}/{name}")
        if file_kind(name) is None:
            src.diagnostics.append(Diagnostic("unknown-file", f"`{name}` is not a policy file "
                                              "kind", doc.path))
            continue
        src.docs[name] = doc
    return src


def _repo(spec: str) -> Path:
    try:
        return gitread.toplevel(Path.cwd())
    except gitread.GitError as exc:
        raise _fail(f"`{spec}` needs a git repository: {exc}", spec) from exc


def _relative(repo: Path, path: Path, spec: str) -> str:
    try:
        return path.relative_to(repo).as_posix()
    except ValueError:
        raise _fail(f"`{path}` is outside the git repository `{repo}`", spec) from None


def _checked_repo(spec: _Spec) -> Path:
    """The repository of a git spec, after checking that its revision exists."""
    assert spec.ref is not None
    repo = _repo(spec.text)
    try:
        gitread.check_revision(repo, spec.ref)
    except gitread.GitError:
        raise _fail(f"unknown git revision `{spec.ref}`", spec.text) from None
    return repo


def _load_git(spec: _Spec, rel: str | None = None) -> LoadedVersion:
    assert spec.ref is not None
    repo = _checked_repo(spec)
    if rel is None:
        assert spec.path is not None
        rel = _relative(repo, spec.path, spec.text)
    src = _git_source(repo, spec.ref, rel)
    if "policy.yaml" not in src.docs:
        raise _fail(f"`{spec.text}`: no policy version at `{rel}` in revision `{spec.ref}`",
                    spec.text)
    return _compiled(spec.text, src.display, src)


def load_spec(text: str, policy_dir: Path = Path("policies")) -> LoadedVersion:
    """Load the version a spec names (a bare `git:REF` needs the other side: see load_pair)."""
    spec = _parse(text, policy_dir)
    if spec.ref is None:
        return _load_dir(spec)
    if spec.path is None:
        raise _fail(f"`{text}` names a revision but no version", text,
                    help="write `git:REF:ID@VERSION` or `git:REF:DIR`")
    return _load_git(spec)


def version_key(version: str) -> tuple[int, ...]:
    """Sort key of `YYYY.N` versions (other names sort first)."""
    parts = version.split(".")
    return tuple(int(p) for p in parts) if all(_DIGITS.fullmatch(p) for p in parts) else (-1,)


def _counterpart(repo: Path, ref: str, other: LoadedVersion) -> str:
    """Directory at `ref` to compare with `other`: same path, its origin, or the newest."""
    rel = _relative(repo, other.source.path.resolve(), other.spec) \
        if not other.location.startswith(GIT_PREFIX) else other.location.split(":", 2)[2]
    parent = rel.rpartition("/")[0]
    present = gitread.list_dirs(repo, ref, parent) if parent else []
    name = rel.rpartition("/")[2]
    origin = str(other.source.meta.get("derived_from", ""))
    for candidate in (name, origin):
        if candidate and candidate in present:
            return f"{parent}/{candidate}"
    if present:
        return f"{parent}/{max(present, key=version_key)}"
    raise _fail(f"no version of `{other.policy.id}` at `{parent}` in revision `{ref}`",
                f"{GIT_PREFIX}{ref}")


def load_pair(old: str, new: str, policy_dir: Path = Path("policies")
              ) -> tuple[LoadedVersion, LoadedVersion]:
    """Load both sides of a diff; one of them may be a bare `git:REF`."""
    old_spec, new_spec = _parse(old, policy_dir), _parse(new, policy_dir)
    bare_old = old_spec.ref is not None and old_spec.path is None
    bare_new = new_spec.ref is not None and new_spec.path is None
    if bare_old and bare_new:
        raise _fail("at most one side can be a bare `git:REF`", old,
                    help="name the version on the other side")
    if bare_old:
        right = load_spec(new, policy_dir)
        return _load_bare(old_spec, right), right
    left = load_spec(old, policy_dir)
    if bare_new:
        return left, _load_bare(new_spec, left)
    return left, load_spec(new, policy_dir)


def _load_bare(spec: _Spec, other: LoadedVersion) -> LoadedVersion:
    assert spec.ref is not None
    repo = _checked_repo(spec)
    return _load_git(spec, _counterpart(repo, spec.ref, other))
