#!/usr/bin/env python3
"""Load benchmark client for bench/load.sh: drives a running example_app (release) with
Python's standard library and wrk, and prints four figures measured side by side in one run:

  a. wrong-password log-in attempts per second vs the Argon2id limit (cores / hash time)
  b. server peak RSS during a 200-connection wrong-password flood, and the latency of an
     authenticated GET served at the same time
  c. log-in latency, unknown email vs known email with a wrong password
  d. throughput of GET /bench/guarded (AuthenticatedUser) vs GET /bench/open (no guard)

    python3 bench/load_client.py http://127.0.0.1:PORT SERVER_PID WORKDIR

Never fails on a figure; exits non-zero only when the app does not behave as expected
(a page or status that makes the figures meaningless).
"""
import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

BASE = sys.argv[1].rstrip("/")
PID = int(sys.argv[2])
WORK = sys.argv[3]
HERE = os.path.dirname(os.path.abspath(__file__))
URL = urllib.parse.urlsplit(BASE)
CORES = os.cpu_count() or 1

PASSWORD = "bench password long enough 42"
WRONG = "definitely the wrong password 7"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "120"))  # (c): >= 100 of each kind
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))  # length of each wrk run
LOGIN_CONNS = 32  # (a): keeps every hashing worker busy, stays under the 64-job queue
FLOOD_CONNS = 200  # (b)
GET_CONNS = 32  # (d): same for both routes
PROBE_FAILURES = 4  # (c) uses each probe account at most this often: stays under lockout (5)


class Client:
    """One keep-alive HTTP/1.1 connection with a minimal cookie jar. (http.cookiejar would
    refuse to send the release build's `Secure` `__Host-` cookies over plain HTTP.)"""

    def __init__(self, timeout=30):
        self.timeout = timeout
        self.cookies = {}
        self.conn = None

    def cookie_header(self):
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def request(self, method, path, fields=None):
        body = urllib.parse.urlencode(fields).encode() if fields is not None else None
        headers = {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(URL.hostname, URL.port, timeout=self.timeout)
            try:
                started = time.perf_counter()
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - started
                break
            except (http.client.HTTPException, ConnectionError):
                # The server closed the kept-alive connection: retry once on a new one.
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        for line in response.msg.get_all("Set-Cookie") or []:
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if value == "" or re.search(r"(?i)max-age=0\b", line):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return response.status, data, elapsed


def fail(message):
    print(f"ERROR: {message}", file=sys.stderr)
    sys.exit(1)


def csrf_token(client, path="/users/log_in"):
    status, html, _ = client.request("GET", path)
    found = re.search(rb'name="_csrf" value="([^"]+)"', html)
    if status != 200 or not found:
        fail(f"GET {path} answered {status} without a _csrf field")
    return found.group(1).decode()


def median_ms(values):
    return statistics.median(values) * 1000


def pct_ms(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def proc_status(field):
    """A kB field of /proc/PID/status (VmRSS, VmHWM), in MiB."""
    try:
        with open(f"/proc/{PID}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def run_wrk(args, label):
    """Runs wrk, returns (requests/s, requests, seconds, {status: count}, full output)."""
    cmd = ["wrk", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=SECONDS * 6 + 60)
    out = done.stdout + done.stderr
    if done.returncode != 0:
        fail(f"wrk ({label}) exited {done.returncode}:\n{out}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
    if not rps or not total:
        fail(f"cannot read wrk's output ({label}):\n{out}")
    secs = float(total.group(2)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[total.group(3)]
    statuses = {int(s): int(n) for s, n in re.findall(r"^STATUS (\d+) (\d+)$", out, re.M)}
    errors = re.search(r"Socket errors:.*", out)
    if errors:
        print(f"    wrk ({label}) {errors.group(0)}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx and not statuses:
        statuses["non-2xx/3xx"] = int(non2xx.group(1))
    return float(rps.group(1)), int(total.group(1)), secs, statuses, out


def fmt_statuses(statuses):
    return ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items(), key=str)) or "none"


def main():
    run = int(time.time())
    rng = random.Random(run)

    # --- Accounts --------------------------------------------------------------------
    # probe-*: (c) and the hash-time measurement; each gets at most 4 wrong passwords, so
    #          none is ever locked and every probe is a genuine "wrong password".
    # flood-*: the wrk floods of (a) and (b). They lock after 5 failures within the first
    #          second; a locked account is still verified (one hash, like a wrong password)
    #          and answers the same 401, so the floods keep measuring one hash per attempt.
    #          (Unlocked failures also write the failure counter; locked ones only audit.)
    # session: logged in once, its session cookie drives the authenticated GETs.
    probes = [f"probe-{run}-{i}@example.com" for i in range(-(-ROUNDS // PROBE_FAILURES))]
    floods = [f"flood-{run}-{i}@example.com" for i in range(20)]
    session_email = f"session-{run}@example.com"
    anon = Client()
    token = csrf_token(anon, "/users/register")
    started = time.perf_counter()
    for email in probes + floods + [session_email]:
        status, _, _ = anon.request(
            "POST", "/users/register", {"_csrf": token, "email": email, "password": PASSWORD,
             "display_name": "Bench", "accept_terms": "true"}
        )
        if status != 200:
            fail(f"registering {email} answered {status}")
    print(
        f"setup: registered {len(probes) + len(floods) + 1} accounts through POST /users/register "
        f"in {time.perf_counter() - started:.1f} s"
    )

    user = Client()
    token_user = csrf_token(user)
    status, _, _ = user.request(
        "POST", "/users/log_in", {"_csrf": token_user, "email": session_email, "password": PASSWORD}
    )
    session_cookie = user.cookie_header()
    status_guarded, body_guarded, _ = user.request("GET", "/bench/guarded")
    status_open, body_open, _ = Client().request("GET", "/bench/open")
    status_anon, _, _ = Client().request("GET", "/bench/guarded")
    if status != 303 or status_guarded != 200 or status_open != 200 or body_guarded != body_open:
        fail(
            f"log-in answered {status}; /bench/guarded {status_guarded} {body_guarded[:40]!r}; "
            f"/bench/open {status_open} {body_open[:40]!r}"
        )
    if status_anon == 200:
        fail("/bench/guarded answered 200 without a session")
    print(f"setup: logged in {session_email}; /bench/guarded answers 200 with its cookie, "
          f"{status_anon} without")

    # --- Sequential, idle server: hash time and (c) -------------------------------------
    # Each round sends, in random order on one keep-alive connection: GET /users/log_in
    # (the cheap baseline: routing, guards, template), a wrong password for a known probe
    # account, and a log-in for an unknown email (verified against the dummy hash).
    token = csrf_token(anon)
    for i in range(5):  # warm-up, not measured
        anon.request("GET", "/users/log_in")
        anon.request("POST", "/users/log_in",
                     {"_csrf": token, "email": f"warm-{run}-{i}@example.com", "password": WRONG})
    times = {"get": [], "known": [], "unknown": []}
    statuses = {"get": set(), "known": set(), "unknown": set()}
    for i in range(ROUNDS):
        ops = [
            ("get", "GET", "/users/log_in", None),
            ("known", "POST", "/users/log_in",
             {"_csrf": token, "email": probes[i // PROBE_FAILURES], "password": WRONG}),
            ("unknown", "POST", "/users/log_in",
             {"_csrf": token, "email": f"nobody-{run}-{i}@example.com", "password": WRONG}),
        ]
        rng.shuffle(ops)
        for kind, method, path, fields in ops:
            status, _, elapsed = anon.request(method, path, fields)
            statuses[kind].add(status)
            times[kind].append(elapsed)
    if statuses["known"] != {401} or statuses["unknown"] != {401} or statuses["get"] != {200}:
        fail(f"unexpected statuses in the sequential rounds: {statuses}")
    get_ms, known_ms, unknown_ms = (median_ms(times[k]) for k in ("get", "known", "unknown"))
    # Single-hash time, measured through the app (our hasher: Argon2id with the configured
    # parameters on the app's worker pool, reusing its memory block): median latency of one
    # sequential wrong-password log-in on an idle server minus the median latency of the
    # cheap GET /users/log_in on the same connection. What remains is the hash plus the
    # failed log-in's own database work (user lookup, failure counter, audit row), so it
    # slightly overstates the hash and the limit below is slightly conservative.
    hash_ms = known_ms - get_ms
    limit = CORES / (hash_ms / 1000)

    # --- (a) Sustained wrong-password log-ins -------------------------------------------
    config = os.path.join(WORK, "login.cfg")
    with open(config, "w") as f:
        f.write(anon.cookie_header() + "\n" + token + "\n" + "\n".join(floods) + "\n")
    login_url = BASE + "/users/log_in"
    lua = os.path.join(HERE, "load_login.lua")
    _, total_a, secs_a, codes_a, _ = run_wrk(
        ["-t2", f"-c{LOGIN_CONNS}", f"-d{SECONDS}s", "--timeout", "10s", "-s", lua,
         login_url, "--", config], "a")
    attempts = codes_a.get(401, 0) / secs_a

    # --- (b) 200-connection flood: RSS, and authenticated GET latency meanwhile ----------
    # Reset the peak-RSS counter so VmHWM covers this flood only (Linux: clear_refs 5).
    try:
        with open(f"/proc/{PID}/clear_refs", "w") as f:
            f.write("5")
        hwm_reset = True
    except OSError:
        hwm_reset = False
    rss_before = proc_status("VmRSS")
    samples, latencies, get_statuses = [], [], {}
    stop = threading.Event()

    def sample_rss():
        while not stop.is_set():
            samples.append(proc_status("VmRSS"))
            stop.wait(0.05)

    def paced_gets():
        # 20 requests/s on one keep-alive connection, each timed on its own; a tick that
        # is missed because the previous request was slow is skipped, not queued.
        client = Client(timeout=15)
        client.cookies = dict(user.cookies)
        period, tick = 0.05, time.perf_counter()
        while not stop.is_set():
            try:
                status, _, elapsed = client.request("GET", "/bench/guarded")
                latencies.append(elapsed)
                get_statuses[status] = get_statuses.get(status, 0) + 1
            except (OSError, http.client.HTTPException) as e:
                get_statuses[type(e).__name__] = get_statuses.get(type(e).__name__, 0) + 1
                client.conn = None
            tick += period
            now = time.perf_counter()
            if tick < now:
                tick = now
            stop.wait(tick - now)

    workers = [threading.Thread(target=sample_rss), threading.Thread(target=paced_gets)]
    for w in workers:
        w.start()
    try:
        _, total_b, secs_b, codes_b, _ = run_wrk(
            ["-t2", f"-c{FLOOD_CONNS}", f"-d{SECONDS}s", "--timeout", "10s", "-s", lua,
             login_url, "--", config], "b")
    finally:
        stop.set()
        for w in workers:
            w.join()
    hwm_after = proc_status("VmHWM")
    rss_after = proc_status("VmRSS")

    # --- (d) Guarded vs open GET throughput ---------------------------------------------
    url_open, url_guarded = BASE + "/bench/open", BASE + "/bench/guarded"
    common = ["-t2", f"-c{GET_CONNS}", "--timeout", "10s"]
    run_wrk([*common, "-d2s", url_open], "d warm-up")
    run_wrk([*common, "-d2s", "-H", f"Cookie: {session_cookie}", url_guarded], "d warm-up")
    rps_open, _, _, codes_open, _ = run_wrk([*common, f"-d{SECONDS}s", url_open], "d open")
    rps_guarded, _, _, codes_guarded, _ = run_wrk(
        [*common, f"-d{SECONDS}s", "-H", f"Cookie: {session_cookie}", url_guarded], "d guarded")
    status_after, body_after, _ = user.request("GET", "/bench/guarded")
    if status_after != 200 or body_after != body_open:
        fail(f"after the run /bench/guarded answers {status_after}: the session did not hold")

    # --- Report ---------------------------------------------------------------------------
    print()
    print(f"single Argon2id hash, measured through the app (idle, sequential, {ROUNDS} each):")
    print(f"  wrong-password log-in median {known_ms:.2f} ms - GET /users/log_in median "
          f"{get_ms:.2f} ms = {hash_ms:.2f} ms per hash")
    print()
    print(f"(a) wrong-password log-ins, wrk {LOGIN_CONNS} connections, {secs_a:.1f} s, "
          f"{len(floods)} known accounts (locked after their 5th failure; still one hash each):")
    print(f"  statuses: {fmt_statuses(codes_a)} ({total_a} requests)")
    print(f"  log-in attempts/s (401 answers):      {attempts:.1f}")
    print(f"  Argon2id limit ({CORES} cores / {hash_ms:.2f} ms): {limit:.1f}")
    print(f"  ratio attempts / limit:               {attempts / limit:.2f}")
    print()
    print(f"(b) {FLOOD_CONNS}-connection wrong-password flood, {secs_b:.1f} s:")
    print(f"  flood statuses: {fmt_statuses(codes_b)} ({total_b / secs_b:.1f} requests/s; "
          f"401 = hashed, {codes_b.get(401, 0) / secs_b:.1f}/s; 503 = hashing queue full)")
    print(f"  server RSS before flood:          {rss_before:.1f} MiB")
    print(f"  server VmRSS peak sampled (50 ms): {max(samples, default=float('nan')):.1f} MiB "
          f"({len(samples)} samples)")
    hwm_note = "peak reset before the flood" if hwm_reset else "peak since launch: clear_refs failed"
    print(f"  server VmHWM after flood:         {hwm_after:.1f} MiB ({hwm_note})")
    print(f"  server VmRSS after flood:         {rss_after:.1f} MiB")
    if latencies:
        print(f"  authenticated GET /bench/guarded at 20/s meanwhile: n={len(latencies)}, "
              f"statuses {fmt_statuses(get_statuses)}")
        print(f"    p50 {pct_ms(latencies, 50):.2f} ms   p99 {pct_ms(latencies, 99):.2f} ms   "
              f"max {max(latencies) * 1000:.2f} ms")
    else:
        print(f"  authenticated GET: no answer ({fmt_statuses(get_statuses)})")
    print()
    print(f"(c) log-in latency, sequential and interleaved, {ROUNDS} each:")
    print(f"  unknown email:              median {unknown_ms:.2f} ms (p90 {pct_ms(times['unknown'], 90):.2f} ms)")
    print(f"  known email, wrong password: median {known_ms:.2f} ms (p90 {pct_ms(times['known'], 90):.2f} ms)")
    print(f"  ratio known/unknown:        {known_ms / unknown_ms:.2f}")
    print()
    print(f"(d) GET throughput, wrk 2 threads x {GET_CONNS} connections, {SECONDS} s each:")
    print(f"  GET /bench/open:                 {rps_open:.0f} requests/s"
          + (f" ({fmt_statuses(codes_open)})" if codes_open else ""))
    print(f"  GET /bench/guarded (session):    {rps_guarded:.0f} requests/s"
          + (f" ({fmt_statuses(codes_guarded)})" if codes_guarded else ""))
    print(f"  ratio guarded/open:              {rps_guarded / rps_open:.2f}")


if __name__ == "__main__":
    main()
