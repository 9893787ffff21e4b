"""The self-registration portal under load: the full flow, every page, against a real server.

Usage: uv run python benchmarks/portal_load.py [--seconds 30] [--clients 16] [--workers 3] [--no-script]
       scripts/test-postgres uv run python benchmarks/portal_load.py ...      (on PostgreSQL)

Sets up a database (the one DATABASE_URL names, else SQLite in a temporary folder) with the demo gazetteer
and a published information sheet, starts gunicorn (``--workers`` processes) and the Homeward worker on
127.0.0.1, and drives registrations through every page of the flow from client processes: the start page
with a campaign code and the agreements under the information sheet, the person, a settlement search in
Cyrillic and the origin, a spouse added on the family page, the contact page, two intention pages (one
answered, one skipped), the check page, the send and the reference page. Each registrant comes from an address
of its own, as a proxy in front of the server reports it (X-Forwarded-For), so the rate limits stay as
configured. The clients are browsers with JavaScript (htmx sends each page and gets the
next one in the same request: 11 requests), or with ``--no-script`` browsers without it (each page sent is
answered by a redirect the browser follows: 20 requests). It reports sustained complete submissions per
second, page latency percentiles, the count of 5xx answers, lost or duplicated submissions after the worker
has recorded them all (a reference a client was given that is not stored, a stored submission no client was
given, or one not recorded), and where the CPU went (web server, worker, database, the load generator itself)
per submission. Baseline in the same run, on the same server: a bare Django form POST (the language switch,
CSRF-checked) at the same concurrency. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import multiprocessing
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

TARGET_PER_SECOND = 50
TARGET_P99_SECONDS = 1.0
# Requests of one registration as a browser makes them: with JavaScript one per page (the search is a page too),
# without it a redirect and a second request after each page sent.
REQUESTS = {True: 11, False: 20}
ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
REFERENCE = re.compile(r'id="reference">([^<]+)<')
GIVEN = ["Aynur", "Rauf", "Leyla", "Elçin", "Gülnarə", "Vüqar", "Səbinə", "Tural", "Nərgiz", "Kamran"]
SURNAMES = ["Hüseynova", "Məmmədov", "Əliyeva", "Quliyev", "Həsənova", "İsmayılov", "Rzayeva", "Cəfərov"]


TICK = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, str, float]]:
    """Every process now: pid -> (parent pid, command name, CPU seconds used so far)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        found[int(entry.name)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / TICK)
    return found


def _cpu(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process tree, and by the database server's processes."""
    table = _processes()
    out = {}
    for label, root in roots.items():
        tree, grew = {root}, True
        while grew:
            more = {pid for pid, (parent, _n, _c) in table.items() if parent in tree} - tree
            tree |= more
            grew = bool(more)
        out[label] = sum(table[pid][2] for pid in tree if pid in table)
    out["database"] = sum(cpu for _p, name, cpu in table.values() if name.startswith("postgres"))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Browser:
    """One registrant's connection: cookies, the CSRF token, timings of every page."""

    def __init__(self, port: int, *, script: bool = True) -> None:
        self.port = port
        self.script = script  # a browser with JavaScript: htmx sends each page and shows the next in place
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}
        # Each registrant has an address of their own, as the proxy in front of the server reports it: the rate
        # limits stay as configured (20 registrations per address per hour, 6,000 per minute from everybody).
        self.address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
        self.token = ""
        self.timings: list[float] = []
        self.errors = 0

    def request(
        self, method: str, path: str, data: dict[str, str] | list[tuple[str, str]] | None = None
    ) -> tuple[int, str, str]:
        headers = {"Host": f"127.0.0.1:{self.port}", "Accept-Language": "az", "X-Forwarded-For": self.address}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None and self.script:
            headers.update({"HX-Request": "true", "HX-Boosted": "true"})
        if data is not None:
            fields = list(data.items()) if isinstance(data, dict) else list(data)
            fields.append(("csrfmiddlewaretoken", self.token))
            body = urllib.parse.urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://127.0.0.1:{self.port}"
        started = time.perf_counter()
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        self.timings.append(time.perf_counter() - started)
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        found = CSRF.search(text)
        if found:
            self.token = found.group(1)
        if response.status >= 500:
            self.errors += 1
        return response.status, response.getheader("Location") or "", text

    def expect(self, method: str, path: str, data: dict[str, str] | list[tuple[str, str]] | None = None,
               status: int = 200) -> str:  # fmt: skip
        code, location, text = self.request(method, path, data)
        if code != status:
            raise RuntimeError(f"{method} {path}: {code} (expected {status}) {location} {text[:300]}")
        return location or text

    def send(self, path: str, data: dict[str, str] | list[tuple[str, str]]) -> str:
        """Send a page and get the next one: with htmx in one request; without JavaScript the answer is a redirect
        the browser follows with a second request."""
        if self.script:
            return self.expect("POST", path, data)
        return self.expect("GET", self.expect("POST", path, data, 302))


def register(browser: Browser, rng: random.Random) -> str:
    """Every page of one registration; the reference number given at the end."""
    b = browser
    b.expect("GET", "/portal/?c=bench")
    b.send("/portal/", {"sheet": "bench-1", "c": "bench", "registration": "on", "planning": "on"})
    born = f"{rng.randint(1940, 1995)}-0{rng.randint(1, 9)}"
    b.send("/portal/you/", {"given_name": rng.choice(GIVEN), "surname": rng.choice(SURNAMES), "sex": "F",
                            "birth_date": born, "website": ""})  # fmt: skip
    page = b.expect("POST", "/portal/origin/", {"q": "Кара", "search": "1"})  # the search: the same page again
    gids = re.findall(r'name="settlement" value="([^"]+)"', page)
    origin = {"q": "Кара", "left": "1988", "event": "", "how": ""}
    origin.update({"settlement": rng.choice(gids)} if gids else {"text": "Upper valley"})
    b.send("/portal/origin/", origin)
    b.send("/portal/family/add/", {"relation": "spouse", "given_name": rng.choice(GIVEN),
                                   "surname": rng.choice(SURNAMES), "birth_date": "1960"})  # fmt: skip
    b.send("/portal/family/", {"continue": "1"})
    b.send("/portal/contact/", {"country": "DE", "city": "Köln"})
    b.send("/portal/intention/0/", [("decision", "intends"), ("horizon", "5_years"), ("together", "community"),
                                    ("conditions", "security"), ("conditions", "housing")])  # fmt: skip
    b.send("/portal/intention/1/", {"skip": "1"})
    done = b.send("/portal/check/", {})
    found = REFERENCE.search(done)
    if not found:
        raise RuntimeError("the reference page shows no reference")
    return found.group(1)


def bare_post(browser: Browser) -> None:
    browser.expect("POST", "/i18n/setlang/", {"language": "az", "next": "/portal/"}, 302)


def client(port: int, until: float, mode: str, seed: int, out: multiprocessing.Queue, script: bool) -> None:  # type: ignore[type-arg]
    rng = random.Random(seed)
    done: list[str] = []
    timings: list[float] = []
    failures: list[str] = []
    errors = 0
    flows: list[float] = []
    while time.time() < until:
        browser = Browser(port, script=script)
        try:
            started = time.perf_counter()
            if mode == "flow":
                done.append(register(browser, rng))
                flows.append(time.perf_counter() - started)
            else:
                browser.expect("GET", "/portal/")  # the session and the CSRF cookie, as a browser has them
                browser.timings.clear()
                while time.time() < until:
                    bare_post(browser)
                    done.append("")
        except Exception as exc:
            failures.append(str(exc)[:300])
        timings += browser.timings
        errors += browser.errors
        browser.conn.close()
    out.put({"done": done, "timings": timings, "failures": failures, "errors": errors, "flows": flows,
             "cpu": time.process_time()})  # fmt: skip


def drive(port: int, clients: int, seconds: float, mode: str, script: bool = True) -> dict[str, object]:
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    until = time.time() + seconds
    started = time.perf_counter()
    procs = [multiprocessing.Process(target=client, args=(port, until, mode, n, queue, script)) for n in range(clients)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    timings = sorted(t for r in results for t in r["timings"])
    done = [d for r in results for d in r["done"]]

    def pct(q: float) -> float:
        return round(timings[min(len(timings) - 1, int(q * len(timings)))], 4) if timings else 0.0

    flows = [f for r in results for f in r["flows"]]
    return {
        "completed": len(done), "per_second": round(len(done) / elapsed, 1), "requests": len(timings),
        "requests_per_second": round(len(timings) / elapsed, 1), "p50_s": pct(0.50), "p95_s": pct(0.95),
        "p99_s": pct(0.99), "http_5xx": sum(int(r["errors"]) for r in results),
        "failures": sum(len(r["failures"]) for r in results),
        "failure_examples": [f for r in results for f in r["failures"]][:3],
        "flow_median_s": round(statistics.median(flows), 3) if flows else None, "references": done,
        "client_cpu_s": sum(float(r["cpu"]) for r in results), "elapsed_s": elapsed,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread above 1)")
    parser.add_argument("--baseline-seconds", type=float, default=10)
    parser.add_argument("--no-script", action="store_true", help="browsers without JavaScript (no htmx)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hw-portal-load-"))
    env = dict(os.environ)
    env.update({
        "HOMEWARD_VAR_DIR": str(work / "var"), "HOMEWARD_ENV": "development", "DJANGO_SETTINGS_MODULE":
        "homeward.settings", "HOMEWARD_TRUST_PROXY": "1",
        "PYTHONPATH": str(ROOT / "src"),
    })  # fmt: skip
    env.pop("HOMEWARD_DEBUG", None)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT / "src"))
    from homeward.core.keys import new_keyring, write_key_file

    (work / "var").mkdir(parents=True)
    write_key_file(work / "var" / "keys.json", new_keyring())
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from homeward.audit.services import system_actor
    from homeward.gazetteer.formats import write_lpf
    from homeward.gazetteer.services import gazetteer_import
    from homeward.portal.models import Campaign, Submission
    from homeward.registry.services.sheets import information_sheet_publish
    from homeward.synth.gazetteer import generate

    actor = system_actor("benchmark")
    gazetteer_import(actor=actor, raw=write_lpf(generate(settlements=300)).encode(), filename="g.json")
    for language in ("en", "az", "ru"):
        information_sheet_publish(actor=actor, version="bench-1", language=language, title="Registry",
                                  body="Who runs the registry, why, what is stored and who sees it. " * 20)  # fmt: skip
    Campaign.objects.create(code="bench", name="Benchmark")
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    from django.db import connections

    connections.close_all()

    port = _free_port()
    gunicorn = [sys.executable, "-m", "gunicorn", "homeward.wsgi:application", "--workers", str(args.workers),
                "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--keep-alive", "30"]  # fmt: skip
    if args.threads > 1:
        gunicorn += ["--worker-class", "gthread", "--threads", str(args.threads)]
    server = subprocess.Popen(gunicorn, env=env, start_new_session=True)
    worker = subprocess.Popen([sys.executable, "-m", "homeward.cli", "worker", "--interval", "0.5"], env=env,
                              start_new_session=True, stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        weight = Browser(port)
        start_page = weight.expect("GET", "/portal/")
        static = ROOT / "src/homeward/static/homeward"
        css = (static / "homeward.css").read_bytes()
        # Loaded once, then from the browser's cache; deferred, so never in the way of the first page shown.
        script = (static / "vendor/htmx-2.0.11.min.js").read_bytes() + (static / "portal.js").read_bytes()
        baseline = drive(port, args.clients, args.baseline_seconds, "bare")
        roots = {"web": server.pid, "worker": worker.pid}
        before = _cpu(roots)
        flow = drive(port, args.clients, args.seconds, "flow", script=not args.no_script)
        after = _cpu(roots)
        references = set(flow.pop("references"))  # type: ignore[arg-type]
        baseline.pop("references")
        drained = time.perf_counter()
        while (
            Submission.objects.filter(state=Submission.State.RECEIVED).exists() and time.perf_counter() - drained < 600
        ):
            time.sleep(0.5)
        drain_seconds = time.perf_counter() - drained
        after["worker"] = _cpu(roots)["worker"]  # recording may run on after the last registration
        stored = list(Submission.objects.values_list("reference", "state"))
    finally:
        for proc in (server, worker):
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    stored_refs = [r for r, _s in stored]
    lost = len(references - set(stored_refs))
    duplicated = len(stored_refs) - len(set(stored_refs)) + len(set(stored_refs) - references)
    unrecorded = sum(1 for _r, s in stored if s != "recorded")
    print(json.dumps({
        "benchmark": "portal_load", "database": database, "gunicorn_workers": args.workers, "threads": args.threads,
        "clients": args.clients,
        "seconds": args.seconds, "javascript": not args.no_script,
        "requests_per_submission": REQUESTS[not args.no_script],
        "submissions_per_second": flow["per_second"], "target_per_second": TARGET_PER_SECOND,
        "page_p50_s": flow["p50_s"], "page_p95_s": flow["p95_s"], "page_p99_s": flow["p99_s"],
        "target_p99_s": TARGET_P99_SECONDS, "flow_median_s": flow["flow_median_s"],
        "requests_per_second": flow["requests_per_second"], "submissions": flow["completed"],
        "http_5xx": flow["http_5xx"], "failed_flows": flow["failures"], "failure_examples": flow["failure_examples"],
        "lost": lost, "duplicated": duplicated, "not_recorded": unrecorded, "recorded_after_s": round(drain_seconds, 1),
        "start_page_bytes": len(start_page.encode()), "css_bytes": len(css), "javascript_bytes": len(script),
        "css_gzip_bytes": len(gzip.compress(css)), "javascript_gzip_bytes": len(gzip.compress(script)),
        "baseline_bare_post_per_second": baseline["per_second"], "baseline_p99_s": baseline["p99_s"],
        "baseline_5xx": baseline["http_5xx"],
        # Where the two cores went while registrations were sent: CPU milliseconds per submission of the web
        # server, the worker (recording), the database server and the load generator itself.
        "cpu_ms_per_submission": {
            **{k: round((after[k] - before[k]) * 1000 / max(1, flow["completed"]), 1) for k in after},
            "load_generator": round(float(flow["client_cpu_s"]) * 1000 / max(1, flow["completed"]), 1),
        },
    }))  # fmt: skip


if __name__ == "__main__":
    main()
