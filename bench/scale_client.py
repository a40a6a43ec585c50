#!/usr/bin/env python3
"""Measurements for bench/scale.sh against running example_app instances (release), with
Python's standard library and wrk. Each command prints its figures and appends the
summary line (`name: value (target …)`) to SUMMARY_FILE when that is set.

  guarded LABEL TARGET BASE [BASE…]
      requests/s of GET /bench/guarded (AuthenticatedUser, a logged-in session's cookie)
      vs GET /bench/open (no guard), wrk on every BASE at once (requests/s summed), in
      pairs of runs close in time; the figure is the median ratio of the pairs.
  login LABEL BASE
      wrong-password log-in attempts/s (wrk, 32 connections) vs the Argon2id limit
      (cores / single-hash time, the hash timed through the app as in bench/load.sh), in
      rounds of (hash time, flood); the figure is the median ratio of the rounds.
  revoke LABEL BASE
      latency of POST /users/settings/sessions/others ("sign out everywhere else"),
      sequential samples, each revoking one other session made just before (untimed).
      Prints p50/p99 and writes them to WORKDIR/revoke-LABEL.json.

    python3 bench/scale_client.py COMMAND … (WORKDIR from BENCH_WORK, default /tmp)
"""
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.environ.get("BENCH_WORK", "/tmp")
SUMMARY = os.environ.get("SUMMARY_FILE")
CORES = os.cpu_count() or 1
PASSWORD = "bench password long enough 42"
WRONG = "definitely the wrong password 7"
SECONDS = int(os.environ.get("BENCH_SECONDS", "3"))  # each wrk run of `guarded`
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "6"))  # pairs of runs of `guarded`
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "200"))  # `revoke`
RUN = f"{int(time.time())}-{os.getpid()}"


class Client:
    """One keep-alive HTTP/1.1 connection with a minimal cookie jar (the release build's
    `__Host-` cookies are `Secure`, which http.cookiejar will not send over HTTP)."""

    def __init__(self, base, timeout=30):
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port
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
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                started = time.perf_counter()
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - started
                break
            except (http.client.HTTPException, ConnectionError):
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


def register(base, emails):
    anon = Client(base)
    token = csrf_token(anon, "/users/register")
    for email in emails:
        status, _, _ = anon.request(
            "POST", "/users/register", {"_csrf": token, "email": email, "password": PASSWORD,
                                           "display_name": "Bench", "accept_terms": "true"})
        if status != 200:
            fail(f"registering {email} answered {status}")


def log_in(base, email, password=PASSWORD):
    client = Client(base)
    token = csrf_token(client)
    status, _, _ = client.request(
        "POST", "/users/log_in", {"_csrf": token, "email": email, "password": password})
    if status != 303:
        fail(f"log-in of {email} answered {status}")
    return client


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(line):
    print(line)
    if SUMMARY:
        with open(SUMMARY, "a") as f:
            f.write(line + "\n")


def wrk(args, label):
    """Starts wrk; answers the process (read it with wrk_result)."""
    return subprocess.Popen(["wrk", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True), label


def wrk_result(started):
    process, label = started
    out, _ = process.communicate(timeout=SECONDS * 6 + 60)
    if process.returncode != 0:
        fail(f"wrk ({label}) exited {process.returncode}:\n{out}")
    total = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
    if not total:
        fail(f"cannot read wrk's output ({label}):\n{out}")
    secs = float(total.group(2)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[total.group(3)]
    statuses = {int(s): int(n) for s, n in re.findall(r"^STATUS (\d+) (\d+)$", out, re.M)}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    if non2xx or errors:
        fail(f"wrk ({label}): {non2xx and non2xx.group(0)} {errors and errors.group(0)}")
    return int(total.group(1)), secs, statuses


def parallel_wrk(bases, path, seconds, cookie=None, connections=32):
    """wrk on every base at once (connections split between them); answers requests/s
    summed over the bases."""
    per = max(1, connections // len(bases))
    threads = 1 if len(bases) > 1 else 2
    runs = []
    for base in bases:
        args = [f"-t{threads}", f"-c{per}", f"-d{seconds}s", "--timeout", "10s"]
        if cookie:
            args += ["-H", f"Cookie: {cookie}"]
        runs.append(wrk([*args, base + path], f"{path} on {base}"))
    results = [wrk_result(r) for r in runs]
    return sum(n / secs for n, secs, _ in results)


def guarded(label, target, bases):
    email = f"guarded-{RUN}@example.com"
    register(bases[0], [email])
    user = log_in(bases[0], email)
    cookie = user.cookie_header()
    for base in bases:
        status, body, _ = Client(base).request("GET", "/bench/guarded")
        if status == 200:
            fail(f"{base}/bench/guarded answered 200 without a session")
        probe = Client(base)
        probe.cookies = dict(user.cookies)
        status, body, _ = probe.request("GET", "/bench/guarded")
        if status != 200:
            fail(f"{base}/bench/guarded answered {status} with the session")
    parallel_wrk(bases, "/bench/open", 2)
    parallel_wrk(bases, "/bench/guarded", 2, cookie)
    # Pairs of runs close in time, alternating which route goes first: the machine may be
    # shared, and what others do drifts less within a pair than across the run.
    opened, guards, ratios = [], [], []
    for i in range(ROUNDS):
        if i % 2 == 0:
            o = parallel_wrk(bases, "/bench/open", SECONDS)
            g = parallel_wrk(bases, "/bench/guarded", SECONDS, cookie)
        else:
            g = parallel_wrk(bases, "/bench/guarded", SECONDS, cookie)
            o = parallel_wrk(bases, "/bench/open", SECONDS)
        opened.append(o)
        guards.append(g)
        ratios.append(g / o)
    print(f"  {len(bases)} instance(s), wrk 32 connections in all, {ROUNDS} pairs of {SECONDS} s "
          f"runs (order alternating), requests/s:")
    print(f"    GET /bench/open     {', '.join(f'{x:.0f}' for x in opened)}")
    print(f"    GET /bench/guarded  {', '.join(f'{x:.0f}' for x in guards)}")
    print(f"    ratio per pair      {', '.join(f'{x:.2f}' for x in ratios)}")
    summary(f"guarded/unguarded {label}: {statistics.median(ratios):.2f} (target ≥ {target}; "
            f"median of {ROUNDS} pairs, means {statistics.mean(guards):.0f} / "
            f"{statistics.mean(opened):.0f} requests/s)")


def login(label, base):
    rounds = int(os.environ.get("BENCH_LOGIN_ROUNDS", "3"))
    sequential = 40  # timed log-ins per round (known account, wrong password)
    probes = [f"probe-{RUN}-{i}@example.com" for i in range(-(-(rounds * sequential + 5) // 4))]
    floods = [f"flood-{RUN}-{i}@example.com" for i in range(20)]
    register(base, probes + floods)
    anon = Client(base)
    token = csrf_token(anon)
    for i in range(5):  # warm-up
        anon.request("GET", "/users/log_in")
        anon.request("POST", "/users/log_in",
                     {"_csrf": token, "email": f"warm-{RUN}-{i}@example.com", "password": WRONG})
    config = os.path.join(WORK, f"login-{RUN}.cfg")
    with open(config, "w") as f:
        f.write(anon.cookie_header() + "\n" + token + "\n" + "\n".join(floods) + "\n")
    # Rounds of (the single-hash time, measured sequentially through the app, then a
    # 32-connection wrong-password flood), each flood judged against its own round's
    # limit: the machine may be shared, and its share of the cores drifts.
    used, ratios = 0, []
    for r in range(rounds):
        gets, knowns = [], []
        for _ in range(sequential):
            status_get, _, t_get = anon.request("GET", "/users/log_in")
            status, _, t_known = anon.request(
                "POST", "/users/log_in",
                {"_csrf": token, "email": probes[used // 4], "password": WRONG})
            used += 1  # at most 4 failures per probe account: never locked
            if status != 401 or status_get != 200:
                fail(f"sequential log-in round answered {status_get}/{status}")
            gets.append(t_get)
            knowns.append(t_known)
        hash_ms = (statistics.median(knowns) - statistics.median(gets)) * 1000
        limit = CORES / (hash_ms / 1000)
        out = subprocess.run(
            ["wrk", "-t2", "-c32", "-d5s", "--timeout", "10s", "-s",
             os.path.join(HERE, "load_login.lua"), base + "/users/log_in", "--", config],
            capture_output=True, text=True, timeout=120).stdout
        total = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
        if not total:
            fail(f"cannot read wrk's output:\n{out}")
        secs = float(total.group(2)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[total.group(3)]
        statuses = {int(s): int(n) for s, n in re.findall(r"^STATUS (\d+) (\d+)$", out, re.M)}
        attempts = statuses.get(401, 0) / secs
        ratios.append(attempts / limit)
        print(f"  round {r + 1}: hash {hash_ms:.2f} ms (median wrong-password log-in "
              f"{statistics.median(knowns) * 1000:.2f} ms - median GET /users/log_in "
              f"{statistics.median(gets) * 1000:.2f} ms, {sequential} sequential), limit "
              f"{CORES} cores / hash = {limit:.1f}/s; flood 32 connections {secs:.1f} s: "
              f"{', '.join(f'{s}: {n}' for s, n in sorted(statuses.items()))}, "
              f"{attempts:.1f} attempts/s; ratio {attempts / limit:.2f}")
    summary(f"log-in attempts/s ÷ Argon2id limit {label}: {statistics.median(ratios):.2f} "
            f"(target ≥ 0.9; median of {rounds} rounds)")


def revoke(label, base):
    email = f"revoke-{RUN}@example.com"
    register(base, [email])
    user = log_in(base, email)
    token = csrf_token(user, "/users/settings")
    times = []
    for i in range(SAMPLES + 10):
        log_in(base, email)  # another session to end (untimed)
        status, _, elapsed = user.request(
            "POST", "/users/settings/sessions/others", {"_csrf": token})
        if status != 303:
            fail(f"POST /users/settings/sessions/others answered {status}")
        if i >= 10:  # the first ten warm up
            times.append(elapsed * 1000)
    p50, p99 = pct(times, 50), pct(times, 99)
    print(f"  POST /users/settings/sessions/others, {label}: n={len(times)} "
          f"p50 {p50:.2f} ms  p99 {p99:.2f} ms  max {max(times):.2f} ms")
    with open(os.path.join(WORK, f"revoke-{label}.json"), "w") as f:
        json.dump({"p50": p50, "p99": p99}, f)


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "guarded":
        guarded(args[0], args[1], args[2:])
    elif command == "login":
        login(args[0], args[1])
    elif command == "revoke":
        revoke(args[0], args[1])
    else:
        fail(f"unknown command {command}")


if __name__ == "__main__":
    main()
