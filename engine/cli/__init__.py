"""The `echri` command line: option parsing only; the work is done by library functions.

Commands live in one module each and are registered explicitly below.
"""

from __future__ import annotations

import click

from engine.version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="echri")
def main() -> None:
    """Policy-as-code for human-rights-aware export licensing (ECHRI Code of Conduct)."""


def _register() -> None:
    from engine.cli import analyze as _analyze
    from engine.cli import bundle as _bundle
    from engine.cli import diff as _diff
    from engine.cli import evaluate as _evaluate
    from engine.cli import log as _log
    from engine.cli import review as _review
    from engine.cli import serve as _serve
    from engine.cli import test as _test
    from engine.cli import validate as _validate
    from engine.cli import version as _version

    for command in (_validate.validate, _evaluate.evaluate, _evaluate.explain,
                    _test.run_fixtures_command, _diff.diff, _diff.replay,
                    _version.version, _serve.serve, _log.log_group,
                    _bundle.bundle_group, _review.review_group,
                    _analyze.analyze_group):
        main.add_command(command)
    from engine.cli import schema as _schema  # editor schemas (engine/editor/)
    main.add_command(_schema.schema_group)
    from engine.cli import stats as _stats  # meeting statistics (engine/stats/)
    main.add_command(_stats.stats)
    from engine.cli import notices as _notices  # information exchange (engine/registers/)
    main.add_command(_notices.notices_group)
    from engine.cli import notes as _notes
    main.add_command(_notes.notes_group)
    from engine.cli import registers as _registers
    main.add_command(_registers.registers_group)


_register()
