"""Modelines of a draft version that name its generated editor schemas.

Released versions are checksummed, so their modelines keep naming the hand-written
schemas (an editor maps them to the generated ones with the `yaml.schemas` setting, see
.vscode/settings.json). A draft made by `echri version new` is new text: its modelines name
`schemas/generated/<policy>/<version>/<kind>.schema.json`, relative to each file. The file
name stays `<kind>.schema.json`, which is what the `wrong-modeline` lint checks.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.schemas import file_kind

MODELINE = "# yaml-language-server: $schema="


def generated_dir(root: Path, policy_id: str, version: str) -> Path:
    """Where the editor schemas of a version live, under a repository root."""
    return root / "schemas" / "generated" / policy_id / version


def point_modelines(version_dir: Path, schema_dir: Path) -> list[Path]:
    """Rewrite the modeline of every policy file to name its schema in `schema_dir`."""
    changed = []
    for path in sorted(version_dir.rglob("*.y*ml")):
        kind = file_kind(path.relative_to(version_dir).as_posix())
        if kind is None:
            continue
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        for i, line in enumerate(lines):
            if line.startswith(MODELINE):
                target = os.path.relpath(schema_dir / f"{kind}.schema.json", path.parent)
                end = "\n" if line.endswith("\n") else ""
                lines[i] = f"{MODELINE}{Path(target).as_posix()}{end}"
                break
            if line.strip() and not line.startswith("#"):
                break
        new = "".join(lines)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed
