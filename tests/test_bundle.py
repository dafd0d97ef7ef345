"""Policy bundles: deterministic builds, signatures, every tampering detected, safe reading,
and `echri serve --bundle` refusing a bad bundle and serving (and reloading) a good one."""

from __future__ import annotations

import io
import json
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.bundle import (
    BuildError,
    BundleVerificationError,
    Limits,
    UnreadableArchive,
    build_bundle,
    check_contents,
    extracted,
    generate_key,
    sign_bundle,
    verify_bundle,
)
from engine.bundle.archive import read_archive, write_archive
from engine.cli import main
from tests._server import ROOT, running

POLICIES = ROOT / "policies"
REVISION = "test-revision-1"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("keys")
    generate_key(tmp / "good")
    generate_key(tmp / "other")
    return {"private": tmp / "good", "public": tmp / "good.pub",
            "other_private": tmp / "other", "other_public": tmp / "other.pub"}


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    data, _ = build_bundle(POLICIES, REVISION)
    return data


@pytest.fixture()
def signed(tmp_path: Path, unsigned: bytes, keys: dict[str, Path]) -> Path:
    path = tmp_path / "bundle.tar.gz"
    path.write_bytes(unsigned)
    sign_bundle(path, keys["private"])
    return path


def _codes(path: Path, key: Path) -> list[str]:
    return [d.code for d in verify_bundle(path, key).problems]


def _rewrite(path: Path, change: Any) -> None:
    """Rewrite the bundle's members with `change(members)` (a well-formed archive again)."""
    members = read_archive(path)
    change(members)
    out = io.BytesIO()
    write_archive(members, out)
    path.write_bytes(out.getvalue())


# --- build ---------------------------------------------------------------------------------

def test_the_same_inputs_give_byte_identical_bundles(unsigned: bytes) -> None:
    again, _ = build_bundle(POLICIES, REVISION)
    assert again == unsigned
    with tarfile.open(fileobj=io.BytesIO(unsigned)) as tar:
        infos = tar.getmembers()
    names = [i.name for i in infos]
    assert names == sorted(names) and names[0] == "manifest.json"
    assert all(i.mtime == 0 and i.uid == 0 and i.gid == 0 and i.mode == 0o644 and i.isreg()
               for i in infos)
    assert "policies/CHECKSUMS" in names


def test_the_manifest_lists_every_file_and_the_loaded_digests(unsigned: bytes) -> None:
    import engine

    with tarfile.open(fileobj=io.BytesIO(unsigned)) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        manifest = json.loads(member.read())
    on_disk = sorted("policies/" + p.relative_to(POLICIES).as_posix()
                     for p in POLICIES.rglob("*") if p.is_file())
    assert sorted(manifest["files"]) == on_disk
    assert manifest["format"] == "echri-bundle/1" and manifest["revision"] == REVISION
    assert manifest["created_by"].startswith("echri ")
    store = engine.load(POLICIES)
    assert {(p["id"], p["version"], p["digest"]) for p in manifest["policies"]} == {
        (pid, v, cp.digest) for pid, vs in store.versions.items() for v, cp in vs.items()}


def test_the_revision_defaults_to_git_head_and_is_required_outside_git(tmp_path: Path) -> None:
    from engine.bundle import git_revision

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()
    assert git_revision(POLICIES) == head
    copy = tmp_path / "policies"
    shutil.copytree(POLICIES, copy)
    if git_revision(copy) is None:
        with pytest.raises(BuildError, match="--revision"):
            build_bundle(copy)
    (copy / "link.yaml").symlink_to(copy / "CHECKSUMS")
    with pytest.raises(BuildError, match="regular file"):
        build_bundle(copy, "r1")


# --- sign and verify -------------------------------------------------------------------------

def test_sign_then_verify_round_trip_and_cli_exit_codes(tmp_path: Path, unsigned: bytes,
                                                        keys: dict[str, Path]) -> None:
    path = tmp_path / "b.tar.gz"
    runner = CliRunner()
    assert runner.invoke(main, ["bundle", "build", "--policy-dir", str(POLICIES),
                                "--revision", REVISION, "-o", str(path)]).exit_code == 0
    assert path.read_bytes() == unsigned
    verify = ["bundle", "verify", str(path), "--verify-key", str(keys["public"])]
    run = runner.invoke(main, verify)
    assert run.exit_code == 1 and "error[signature-missing]" in run.output
    assert runner.invoke(main, ["bundle", "sign", str(path), "--key",
                                str(keys["private"])]).exit_code == 0
    first = path.read_bytes()
    run = runner.invoke(main, verify)
    assert run.exit_code == 0, run.output
    assert f"ok, revision {REVISION}" in run.output
    sign_bundle(path, keys["private"])  # replacing the signature: Ed25519 is deterministic
    assert path.read_bytes() == first
    sign_bundle(path, keys["other_private"])  # re-signed with another key
    assert _codes(path, keys["other_public"]) == []
    assert _codes(path, keys["public"]) == ["bad-signature"]


def test_cli_usage_and_unreadable_inputs_exit_2(tmp_path: Path, keys: dict[str, Path]) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a gzip file at all")
    runner = CliRunner()
    run = runner.invoke(main, ["bundle", "verify", str(junk), "--verify-key",
                               str(keys["public"])])
    assert run.exit_code == 2 and "error[bundle-unreadable]" in run.output
    run = runner.invoke(main, ["bundle", "verify", str(tmp_path / "none.tar.gz"),
                               "--verify-key", str(keys["public"])])
    assert run.exit_code == 2
    run = runner.invoke(main, ["bundle", "verify", str(junk), "--verify-key",
                               str(keys["private"])])  # a private key is not a verify key
    assert run.exit_code == 2
    run = runner.invoke(main, ["bundle", "keygen", "-o", str(keys["private"])])
    assert run.exit_code == 2 and "never overwritten" in run.output


@pytest.mark.parametrize(("change", "expected"), [
    ("edit-file", ["digest-mismatch"]),
    ("add-file", ["file-not-in-manifest"]),
    ("remove-file", ["file-missing"]),
    ("edit-manifest", ["bad-signature"]),
    ("edit-file-and-manifest", ["bad-signature"]),
    ("remove-signature", ["signature-missing"]),
    ("remove-manifest", ["manifest-missing"]),
    ("garble-signature", ["signature-invalid"]),
])
def test_every_kind_of_tampering_is_detected(signed: Path, keys: dict[str, Path],
                                             change: str, expected: list[str]) -> None:
    target = "policies/echri-baseline/2026.1/rules/embargoes.yaml"

    def tamper(m: dict[str, bytes]) -> None:
        manifest = json.loads(m["manifest.json"])
        if change in ("edit-file", "edit-file-and-manifest"):
            m[target] = m[target].replace(b"deny", b"approve", 1)
        if change == "edit-file-and-manifest":
            import hashlib
            manifest["files"][target] = {"sha256": hashlib.sha256(m[target]).hexdigest(),
                                         "size": len(m[target])}
            m["manifest.json"] = json.dumps(manifest).encode()
        if change == "add-file":
            m["policies/echri-baseline/2026.1/rules/extra.yaml"] = b"rules: []\n"
        if change == "remove-file":
            del m[target]
        if change == "edit-manifest":
            manifest["revision"] = "someone-else"
            m["manifest.json"] = json.dumps(manifest).encode()
        if change == "remove-signature":
            del m["signature.json"]
        if change == "remove-manifest":
            del m["manifest.json"]
        if change == "garble-signature":
            m["signature.json"] = b"{]"

    assert _codes(signed, keys["public"]) == []
    _rewrite(signed, tamper)
    assert _codes(signed, keys["public"]) == expected
    run = CliRunner().invoke(main, ["bundle", "verify", str(signed), "--verify-key",
                                    str(keys["public"])])
    assert run.exit_code == 1
    assert all(f"error[{code}]" in run.output for code in expected)


def test_wrong_key_is_detected(signed: Path, keys: dict[str, Path]) -> None:
    assert _codes(signed, keys["other_public"]) == ["bad-signature"]


def test_a_bundle_that_does_not_match_its_manifest_is_not_signed(
        signed: Path, keys: dict[str, Path]) -> None:
    _rewrite(signed, lambda m: m.update({"policies/CHECKSUMS": b"changed\n"}))
    with pytest.raises(BundleVerificationError):
        sign_bundle(signed, keys["private"])


# --- safe reading --------------------------------------------------------------------------

def _tar(tmp: Path, *members: tuple[tarfile.TarInfo, bytes]) -> Path:
    path = tmp / "crafted.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def _info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


@pytest.mark.parametrize(("members", "message"), [
    ([(_info("/etc/passwd"), b"x")], "unsafe entry name"),
    ([(_info("policies/../../evil"), b"x")], "unsafe entry name"),
    ([(_info("../evil"), b"x")], "unsafe entry name"),
    ([(_info("policies/a", tarfile.SYMTYPE, "/etc/passwd"), b"")], "not a regular file"),
    ([(_info("policies/b", tarfile.LNKTYPE, "manifest.json"), b"")], "not a regular file"),
    ([(_info("policies/f", tarfile.FIFOTYPE), b"")], "not a regular file"),
    ([(_info("policies/x"), b"1"), (_info("policies/x"), b"2")], "twice"),
])
def test_unsafe_archives_are_refused(tmp_path: Path, keys: dict[str, Path],
                                     members: list[tuple[tarfile.TarInfo, bytes]],
                                     message: str) -> None:
    path = _tar(tmp_path, *members)
    result = verify_bundle(path, keys["public"])
    assert [d.code for d in result.problems] == ["unsafe-archive"]
    assert message in result.problems[0].message
    with pytest.raises(BundleVerificationError), extracted(path, keys["public"]):
        pass


def test_size_and_count_limits_stop_tar_and_gzip_bombs(tmp_path: Path) -> None:
    small = Limits(max_bundle_bytes=10_000, max_members=3, max_member_bytes=1000,
                   max_total_bytes=2000)
    many = _tar(tmp_path, *[(_info(f"policies/f{k}"), b"x") for k in range(5)])
    assert "more than 3 files" in check_contents(many, small).problems[0].message
    big = _tar(tmp_path, (_info("policies/zeros"), bytes(5_000_000)))  # a few KB compressed
    assert big.stat().st_size < 10_000
    problem = check_contents(big, small).problems[0]
    assert problem.code == "unsafe-archive" and "over the limit" in problem.message
    assert "over the limit" in check_contents(big, Limits(max_bundle_bytes=100)) \
        .problems[0].message
    # a pax header is read by tarfile itself: the bounded stream stops it too
    bomb = tmp_path / "pax.tar.gz"
    info = _info("policies/p")
    info.pax_headers = {"comment": "z" * 3_000_000}
    with tarfile.open(bomb, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(b""))
    assert "expands to more than" in check_contents(bomb, small).problems[0].message
    (tmp_path / "trunc.tar.gz").write_bytes(big.read_bytes()[:200])
    with pytest.raises(UnreadableArchive):
        check_contents(tmp_path / "trunc.tar.gz", Limits())


def test_extraction_is_private_and_removed_afterwards(signed: Path,
                                                      keys: dict[str, Path]) -> None:
    with extracted(signed, keys["public"]) as (policy_dir, manifest):
        root = policy_dir.parent
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
        assert (policy_dir / "CHECKSUMS").read_bytes() == (POLICIES / "CHECKSUMS").read_bytes()
        assert not (root / "manifest.json").exists()
        assert manifest.revision == REVISION
    assert not root.exists()


# --- serve --bundle ----------------------------------------------------------------------------

def test_serve_refuses_a_bad_bundle(signed: Path, keys: dict[str, Path]) -> None:
    base = [sys.executable, "-m", "engine", "serve", "--port", "0", "--bundle", str(signed)]
    run = subprocess.run([*base, "--verify-key", str(keys["other_public"])], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "error[bad-signature]" in run.stderr and "not serving it" in run.stderr
    # the same checks run in this process (they exit before uvicorn starts)
    runner = CliRunner()
    run = runner.invoke(main, ["serve", "--bundle", str(signed)])
    assert run.exit_code == 2 and "go together" in run.output
    _rewrite(signed, lambda m: m.update({"policies/echri-baseline/2026.1/policy.yaml": b"x"}))
    run = runner.invoke(main, ["serve", "--bundle", str(signed), "--verify-key",
                               str(keys["public"])])
    assert run.exit_code == 2 and "error[digest-mismatch]" in run.output


@pytest.mark.slow
def test_serve_a_good_bundle_and_reload_reverifies_it(tmp_path: Path, signed: Path,
                                                      keys: dict[str, Path]) -> None:
    tokens = tmp_path / "admin-tokens"
    tokens.write_text("admin-secret\n", encoding="utf-8")
    example = json.loads((ROOT / "examples/08-laptops-german-university.json").read_text())
    args = ("--bundle", str(signed), "--verify-key", str(keys["public"]),
            "--admin-token-file", str(tokens))
    auth = {"Authorization": "Bearer admin-secret"}
    with running(tmp_path, *args, log=False, policy_dir=tmp_path / "nowhere") as server, \
            server.client() as client:
        listed = client.get("/v1/policies").json()
        assert listed["source"].startswith("bundle ") and REVISION in listed["source"]
        assert client.post("/v1/decisions", json=example).status_code == 200

        good = signed.read_bytes()
        _rewrite(signed, lambda m: m.update({"policies/CHECKSUMS": b"tampered\n"}))
        response = client.post("/v1/admin/reload", headers=auth)
        assert response.status_code == 422, response.text
        assert "digest-mismatch" in response.json()["detail"]
        ready = client.get("/readyz").json()
        assert ready["ready"] and ready["last_reload"]["ok"] is False
        assert client.post("/v1/decisions", json=example).status_code == 200

        signed.write_bytes(good)  # SIGHUP takes the same path: re-read, re-verify
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while not client.get("/readyz").json()["last_reload"]["ok"]:
            assert time.monotonic() < deadline, "SIGHUP did not reload the bundle"
            time.sleep(0.1)
        assert client.post("/v1/decisions", json=example).status_code == 200
