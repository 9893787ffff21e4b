"""The ``homeward`` command: Homeward's own commands and every Django management command, with its settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HELP = """\
usage: homeward COMMAND [options]     (homeward COMMAND --help for a command's options)

Run Homeward:
  serve              serve the web app and a background worker on 127.0.0.1:8000 until Ctrl-C
  worker             run background jobs (imports, linkage, plans, exports, checks)
  demo               create the demo staff account and load the demo data
  migrate            create or update the database tables

Keys and security:
  keys init          create the key file (secret key, data-encryption, index and audit keys)
  keys rotate        add new active data and audit keys; old ones stay to read old data
  keys show          print the key ids and where the keys come from (never the keys)
  audit verify       check the whole audit chain; names any edited, deleted or reordered event
  audit tail         print the latest audit events
  staff              create staff accounts, set roles, reset two-factor, make API tokens

Gazetteer:
  gazetteer import FILE                     import Linked Places JSON or CSV (all or nothing)
  gazetteer export --format lpf|csv --out FILE

Registry:
  import SOURCE FILE [--mapping MAP.toml] [--report OUT.csv]
                     import person records (CSV, XLSX, Parquet); re-runs add nothing, a crash resumes
  registry report|retry|imports|eligibility|event|origin-region|source|synth|export-person
                     import problems, held rows, eligibility settings, a synthetic community, access copies

Record linkage:
  link [--retrain]   link every current source record into persons; uncertain pairs wait for review
  link-file INPUT.csv --out CLUSTERS.csv [--pairs PAIRS.csv] [--model M.json] [--save-model M.json]
                     one cluster per person: record_id, cluster_id for every record
  link-evaluate CLUSTERS.csv TRUTH.csv
                     pairwise precision, recall and F1, and cluster-level figures, against the truth

Census:
  census run [--reference-date D]   freeze a snapshot of the registry, compute every table and a public release
  census export --format csv|xlsx|json --out DIR [--public] [--snapshot ID]
                     exact tables (internal), or with --public only disclosure-controlled ones
  census list        the snapshots and releases

Return plans (files, no database needed):
  plan generate --settlements N --persons M --phases P --seed S --out INSTANCE.json
  plan solve INSTANCE.json --out SOLUTION.json [--time-limit S]
                     a phased plan with its objective, proven bound and gap; who cannot go, and why
  plan check INSTANCE.json SOLUTION.json   verify every constraint and cohort independently

Planning scenarios (in the database; the same pages under /planning/):
  planning create --name N --start D [--phases P --phase-days D --seats S --budget B ...]
                     cohorts from the latest census snapshot, gates from the security assessments
  planning import FILE | solve ID [--time-limit S] | export ID --out DIR | list
  planning copy ID | change ID gate|housing|seats|budget --target T --value V | compare A B   what-if

Self-registration portal (the pages under /portal/):
  portal record      record the stored registrations that wait (the worker does this on its own)
  portal campaign CODE NAME   start an information campaign; its link is /portal/?c=CODE
  portal list        registrations by state, and what each campaign brought

Jobs:
  jobs list          the latest background jobs
  jobs watch ID      follow one job's progress with a progress bar

Configuration comes from the environment: HOMEWARD_ENV, DATABASE_URL, HOMEWARD_VAR_DIR,
HOMEWARD_KEY_FILE or HOMEWARD_KEYS, HOMEWARD_ALLOWED_HOSTS (see docs/operations.md).
Every Django command also works (homeward help --all lists them), e.g. homeward check --deploy.
"""

_NO_KEYS_NEEDED = {"keys", "help", "version", "--version"}


def _fail(message: str) -> int:
    print(f"homeward: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homeward.settings")
    # The database, uploads and keys hold personal data: nothing Homeward creates is readable by others.
    os.umask(0o077)
    if not args or args in (["-h"], ["--help"], ["help"]):
        print(HELP, end="")
        return 0
    if args[0] == "keys":
        return _keys(args[1:])
    if args[0] in ("link-file", "link-evaluate"):
        # Linkage on files needs no database and no keys: it runs before (and without) Django.
        from homeward.linkage.commands import link_evaluate_command, link_file_command

        try:
            return (link_file_command if args[0] == "link-file" else link_evaluate_command)(args[1:])
        except KeyboardInterrupt:
            return 130
    if args[0] == "plan":
        # Return plans on files need no database and no keys either.
        from homeward.planning.commands import plan_command

        return plan_command(args[1:])
    if args[:2] == ["help", "--all"]:
        args = ["help"]

    from homeward.core.errors import ConfigurationError

    try:
        import django
        from django.conf import settings

        django.setup()
        if settings.HOMEWARD_KEYRING is None and args[0] not in _NO_KEYS_NEEDED:
            return _fail(f"no keys: the key file {settings.KEY_FILE} does not exist; run `homeward keys init`")
        from django.core.management import execute_from_command_line
        from django.db.utils import OperationalError

        try:
            execute_from_command_line(["homeward", *args])
        except OperationalError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return _fail(
                f"the database cannot be used ({first}); check DATABASE_URL and that the server is running, "
                "then run `homeward migrate`"
            )
    except ConfigurationError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    return 0


def _keys(args: list[str]) -> int:
    """Key commands run without Django, so that they work before anything else is set up."""
    import argparse

    from homeward.core.errors import ConfigurationError
    from homeward.core.keys import load_keyring, new_keyring, rotated, write_key_file

    parser = argparse.ArgumentParser(prog="homeward keys", description="Manage Homeward's key file.")
    sub = parser.add_subparsers(dest="action", required=True)
    init = sub.add_parser("init", help="create the key file")
    init.add_argument("--if-missing", action="store_true", help="do nothing when the key file exists")
    sub.add_parser("rotate", help="add new active data and audit keys")
    sub.add_parser("show", help="print key ids and the key file's path")
    opts = parser.parse_args(args)

    env = os.environ.get("HOMEWARD_ENV", "development")
    var_dir = Path(os.environ.get("HOMEWARD_VAR_DIR") or Path(__file__).resolve().parents[2] / "var")
    default_name = "test-keys.json" if env == "test" else "keys.json"
    path = Path(os.environ.get("HOMEWARD_KEY_FILE") or var_dir / default_name).resolve()
    try:
        if opts.action == "init":
            if path.exists():
                if opts.if_missing:
                    return 0
                return _fail(f"the key file {path} already exists; it is never overwritten")
            write_key_file(path, new_keyring())
            print(f"created {path} (mode 600). Back it up apart from the database: without it the encrypted")
            print("data and the audit chain cannot be read or checked.")
            return 0
        ring = load_keyring(env_value=os.environ.get("HOMEWARD_KEYS"), path=path)
        if ring is None:
            return _fail(f"the key file {path} does not exist; run `homeward keys init`")
        if opts.action == "rotate":
            if os.environ.get("HOMEWARD_KEYS"):
                return _fail("the keys come from HOMEWARD_KEYS; rotate them where that variable is kept")
            new = rotated(ring)
            write_key_file(path, new, overwrite=True)
            print(f"new active data key {new.active_data_key} and audit key {new.active_audit_key} in {path}")
            return 0
        print(f"source: {ring.source}")
        print(f"data keys: {', '.join(ring.data_keys)} (active {ring.active_data_key})")
        print(f"audit keys: {', '.join(ring.audit_keys)} (active {ring.active_audit_key})")
        return 0
    except ConfigurationError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write the key file {path}: {exc.strerror}")


if __name__ == "__main__":
    sys.exit(main())
