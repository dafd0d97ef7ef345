"""Editor support: per-version JSON Schemas that know the policy's vocabulary.

engine/editor/vocabulary.py reads the ids and titles of a version, conditions.py builds the
condition and test schemas, generate.py overlays both on the hand-written schemas in
`schemas/` and writes `schemas/generated/<policy>/<version>/<kind>.schema.json`;
modelines.py points the modelines of a draft at them.
"""

from __future__ import annotations

from engine.editor.generate import KINDS, SchemaReport, generate, kind_schema, version_schemas

__all__ = ["KINDS", "SchemaReport", "generate", "kind_schema", "version_schemas"]
