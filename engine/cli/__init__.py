"""The `echri` command line: option parsing only; the work is done by library functions.

Commands live in one module each and are registered explicitly below (COMMANDS).
"""

from __future__ import annotations

import importlib

import click

from engine.version import __version__

# Every command: name → (module, attribute). A command's module is imported only when the
# command runs (or `--help` lists them all): `echri evaluate` does not pay for z3, the diff
# renderers or the service (about 0.8 s of start-up, which a batch of cases waits for).
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("engine.cli.validate", "validate"),
    "evaluate": ("engine.cli.evaluate", "evaluate"),
    "explain": ("engine.cli.evaluate", "explain"),
    "test": ("engine.cli.test", "run_fixtures_command"),
    "diff": ("engine.cli.diff", "diff"),
    "replay": ("engine.cli.diff", "replay"),
    "version": ("engine.cli.version", "version"),
    "serve": ("engine.cli.serve", "serve"),
    "log": ("engine.cli.log", "log_group"),
    "bundle": ("engine.cli.bundle", "bundle_group"),
    "review": ("engine.cli.review", "review_group"),
    "analyze": ("engine.cli.analyze", "analyze_group"),
    "schema": ("engine.cli.schema", "schema_group"),  # editor schemas (engine/editor/)
    "stats": ("engine.cli.stats", "stats"),  # meeting statistics (engine/stats/)
    "notices": ("engine.cli.notices", "notices_group"),  # information exchange
    "notes": ("engine.cli.notes", "notes_group"),
    "registers": ("engine.cli.registers", "registers_group"),
}


class _LazyGroup(click.Group):
    """A group whose commands are imported on first use (click's lazy-loading pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            if command.name != cmd_name:  # the table and the command must agree
                raise RuntimeError(f"`{module}.{attribute}` is `{command.name}`, not "
                                   f"`{cmd_name}`")
            self.add_command(command)
        return self.commands.get(cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="echri")
def main() -> None:
    """Policy-as-code for human-rights-aware export licensing (ECHRI Code of Conduct)."""
