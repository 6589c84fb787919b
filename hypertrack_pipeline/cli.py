"""`hypertrack` — one command line for every stage.

    hypertrack demo | materialize | sql | report | evaluate | models | simulate | serve-sim | record

User mistakes (bad paths, bad SQL, malformed settings, unreachable URLs) print one line on stderr and
exit 2; nothing here prints a traceback for them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from hypertrack_pipeline.errors import RunFailed, UserError

# Subcommands contributed by the domain packages: each module has register(subparsers).
COMMAND_MODULES = (
    "hypertrack_pipeline.simulator.commands",
    "hypertrack_pipeline.simulator.server_cli",
    "hypertrack_pipeline.recorder.cli",
    "hypertrack_pipeline.archive.commands",
)


def _data_dir_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="data directory (default: $HYPERTRACK_DATA_DIR or ./data)")


def cmd_materialize(args: argparse.Namespace) -> int:
    import time

    from hypertrack_pipeline.config import load_settings
    from hypertrack_pipeline.defs.runner import materialize

    settings = load_settings(args.data_dir)
    if settings.landing_url is None and not settings.raw_dir.is_dir():
        raise UserError(f"no landing zone at {settings.raw_dir} (record or simulate first: hypertrack demo)")
    t0 = time.monotonic()
    summary = materialize(settings, retrain=args.retrain)
    print(f"loaded {len(summary.hours_loaded)} hour(s), rebuilt {len(summary.assets_built)} asset(s) "
          f"in {time.monotonic() - t0:.0f} s")
    _print_outputs(settings)
    return _check_exit(summary.failed_checks)


# Checks that mean the warehouse does not hold what the landing zone holds: the command exits 1 when one
# fails (model-quality checks are reported above but are not a failure of the load).
DATA_CHECKS = ("landing_files_ok", "trades_unique_ids", "fills_two_per_trade", "no_null_keys", "raw_schema")


def _check_exit(failed: list[str]) -> int:
    if failed:
        print(f"{len(failed)} asset check(s) failed: {', '.join(failed)} (listed above; details in the Dagster UI)",
              file=sys.stderr)
    return 1 if any(c in DATA_CHECKS for c in failed) else 0


def _print_outputs(settings) -> None:
    print(f"  warehouse : {settings.warehouse_path}")
    print(f"  report    : {settings.reports_dir / 'final_report.txt'}")
    print(f"  dashboard : {settings.reports_dir / 'wallet_dashboard.html'}  (hypertrack report --open)")
    print("  UI        : make dev, then http://127.0.0.1:3000")


def cmd_demo(args: argparse.Namespace) -> int:
    import time

    from hypertrack_pipeline.config import load_settings
    from hypertrack_pipeline.defs.runner import materialize
    from hypertrack_pipeline.simulator import SimConfig
    from hypertrack_pipeline.simulator.commands import simulate_with_progress

    settings = load_settings(args.data_dir)
    t0 = time.monotonic()
    if any(settings.raw_dir.glob("*/date=*")):
        # never overwrite a landing zone (it may hold recorded data); a new market wants a new --data-dir
        print(f"landing zone {settings.raw_dir} already has data: skipping simulation "
              "(use another --data-dir for a new market)")
    else:
        print(f"simulating a market into {settings.raw_dir} (seed {args.seed}, {args.wallets} wallets, "
              f"{args.days} days)")
        summary = simulate_with_progress(settings.data_dir, SimConfig(seed=args.seed, wallets=args.wallets,
                                                                      days=args.days))
        print(f"  {summary}")
    materialize(settings)
    print(f"demo done in {time.monotonic() - t0:.0f} s")
    _print_outputs(settings)
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from hypertrack_pipeline.config import load_settings
    from hypertrack_pipeline.warehouse import format_table, query_warehouse

    settings = load_settings(args.data_dir)
    columns, rows = query_warehouse(settings, args.query)
    print(format_table(columns, rows, fmt=args.format))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from hypertrack_pipeline.config import load_settings

    settings = load_settings(args.data_dir)
    report = settings.reports_dir / "final_report.txt"
    dash = settings.reports_dir / "wallet_dashboard.html"
    if not report.exists() and not dash.exists():
        raise UserError(f"no reports in {settings.reports_dir} yet (run: hypertrack materialize)")
    if args.open:
        from hypertrack_pipeline.dashboard import open_in_browser

        if not dash.exists():
            raise UserError(f"{dash} does not exist yet (run: hypertrack materialize)")
        if open_in_browser(dash):
            print(f"opened {dash}")
        else:
            print(f"no browser found here; open this file in one: {dash.resolve()}")
    else:
        sys.stdout.write(report.read_text() if report.exists() else "")
    return 0


def _evaluate_seed(seed: int, args: argparse.Namespace, keep: str | None) -> dict:
    """Simulate one seed into a (temporary) data directory, run the plan, return the summary."""
    import shutil
    import tempfile
    import time
    from pathlib import Path

    from hypertrack_pipeline.config import load_settings
    from hypertrack_pipeline.defs.runner import materialize
    from hypertrack_pipeline.evaluation import summarize
    from hypertrack_pipeline.simulator import SimConfig
    from hypertrack_pipeline.simulator.commands import simulate_with_progress

    t0 = time.monotonic()
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="hypertrack-eval-"))
    say = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    try:
        settings = load_settings(work)
        say(f"simulating seed {seed}: {args.wallets} wallets, {args.days} days → {work}")
        sim = simulate_with_progress(settings.data_dir, SimConfig(seed=seed, wallets=args.wallets, days=args.days),
                                     force=bool(keep))
        materialize(settings, say=say)
        return summarize(settings, seed, args.wallets, args.days, sim.fills, time.monotonic() - t0)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Simulate a market per seed, run the plan on it in a temporary data directory. One ``--seed``:
    the metrics as JSON. ``--seeds``: a Markdown table (one row per seed, then the median) and the
    budgets that hold; ``--json`` also writes every seed's metrics there. Progress goes to stderr."""
    import orjson

    from hypertrack_pipeline.evaluation import budget_verdicts, format_table, parse_seeds, table_row

    if (args.seed is None) == (args.seeds is None):
        raise UserError("give exactly one of --seed N or --seeds 1-10")
    if args.seed is not None:
        result = _evaluate_seed(args.seed, args, args.keep)
        print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return 0
    seeds = parse_seeds(args.seeds)
    results, rows = [], []
    for seed in seeds:
        keep = f"{args.keep}/seed{seed}" if args.keep else None
        result = _evaluate_seed(seed, args, keep)
        results.append(result)
        rows.append(table_row(result))
        print(format_table([rows[-1]]).splitlines()[2], file=sys.stderr)
    print(f"hypertrack evaluate --seeds {args.seeds}: {args.wallets} wallets, {args.days} days per seed")
    print(format_table(rows))
    verdicts = budget_verdicts(rows)
    for name, ok in verdicts.items():
        print(f"{'holds' if ok else 'FAILS'}: {name}")
    if args.json:
        from pathlib import Path

        Path(args.json).write_bytes(orjson.dumps({"seeds": results, "budgets": verdicts},
                                                 option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    import orjson

    from hypertrack_pipeline.config import load_settings
    from hypertrack_pipeline.ml import compare_versions_on_warehouse, list_versions

    settings = load_settings(args.data_dir)
    if args.compare:
        from hypertrack_pipeline.warehouse import open_for_reading

        with open_for_reading(settings) as con:
            result = compare_versions_on_warehouse(con, settings.models_dir, *args.compare)
        print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    else:
        versions = list_versions(settings.models_dir)
        if not versions:
            print(f"no model versions in {settings.models_dir}")
        for v in versions:
            print(v)
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hypertrack")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hypertrack", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"hypertrack {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="simulate a market, run the whole pipeline, print where the outputs are")
    _data_dir_arg(p)
    p.add_argument("--seed", type=int, default=7, help="simulator seed (default: %(default)s)")
    p.add_argument("--wallets", type=int, default=400, help="simulated wallets (default: %(default)s)")
    p.add_argument("--days", type=float, default=2, help="simulated days (default: %(default)s)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("materialize", help="load new or reopened closed hours and rebuild what is stale")
    _data_dir_arg(p)
    p.add_argument("--retrain", action="store_true",
                   help="also retrain the model (otherwise it is trained on the first build and by the daily "
                        "retrain; scores always use the current model)")
    p.set_defaults(func=cmd_materialize)

    p = sub.add_parser("sql", help="run a query on the warehouse (read-only snapshot; never blocks a run)")
    _data_dir_arg(p)
    p.add_argument("query", help="SQL (DuckDB dialect), e.g. \"select * from wallet_pnl limit 5\"")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table",
                   help="output format (default: %(default)s)")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("report", help="print final_report.txt, or --open the dashboard in the browser")
    _data_dir_arg(p)
    p.add_argument("--open", action="store_true", help="open wallet_dashboard.html instead of printing the report")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("evaluate", help="simulate markets, run the pipeline in a temp dir, print metrics "
                                        "(JSON for --seed, a table over --seeds)")
    p.add_argument("--seed", type=int, help="one simulator seed: print its metrics as JSON")
    p.add_argument("--seeds", help="several seeds (1-10, or 1,3,5): a table per seed, the median and the budgets")
    p.add_argument("--json", help="with --seeds: also write every seed's metrics to this JSON file")
    p.add_argument("--wallets", type=int, default=600, help="simulated wallets (default: %(default)s)")
    p.add_argument("--days", type=float, default=4, help="simulated days (default: %(default)s)")
    p.add_argument("--keep", help="keep the data directory at this path instead of a deleted temp folder "
                                  "(with --seeds: one seedN folder per seed; default: temp folder)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("models", help="list model versions, or --compare V1 V2 on the same wallets")
    _data_dir_arg(p)
    p.add_argument("--compare", nargs=2, metavar=("V1", "V2"), help="compare two versions on the same wallets")
    p.set_defaults(func=cmd_models)

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"hypertrack {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except RunFailed as exc:
        print(f"hypertrack {args.command}: {exc} (details: the run in the Dagster UI, `make dev`)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        print(f"hypertrack {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())


