#!/usr/bin/env python3
"""Median response time of POST /users/reset-password for known and unknown emails,
measured side by side (interleaved) against a running Sigra app. Prints figures; never
fails on time.

    python3 bench/forgot_password_timing.py http://127.0.0.1:8000 [rounds]
"""
import http.cookiejar
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request

BASE = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8000"
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 200
PASSWORD = "bench password long enough 42"


def client():
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def csrf(opener, path):
    html = opener.open(BASE + path).read().decode()
    return re.search(r'name="_csrf" value="([^"]+)"', html).group(1)


def post(opener, path, fields):
    data = urllib.parse.urlencode(fields).encode()
    req = urllib.request.Request(BASE + path, data=data, method="POST")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    started = time.perf_counter()
    with opener.open(req) as response:
        response.read()
        status = response.status
    return status, time.perf_counter() - started


def main():
    run = int(time.time())
    opener = client()
    token = csrf(opener, "/users/register")
    known = [f"bench-{run}-{i}@example.com" for i in range(ROUNDS)]
    for email in known:
        post(opener, "/users/register", {"_csrf": token, "email": email, "password": PASSWORD,
                                          "display_name": "Bench", "accept_terms": "true"})
    token = csrf(opener, "/users/reset-password")
    times = {"known": [], "unknown": []}
    statuses = set()
    for i, email in enumerate(known):
        # Interleave so that both sides see the same machine state.
        order = [("known", email), ("unknown", f"nobody-{run}-{i}@example.com")]
        if i % 2:
            order.reverse()
        for kind, address in order:
            status, elapsed = post(opener, "/users/reset-password", {"_csrf": token, "email": address})
            statuses.add(status)
            times[kind].append(elapsed)
    k = statistics.median(times["known"]) * 1000
    u = statistics.median(times["unknown"]) * 1000
    print(f"forgot-password POST, {ROUNDS} rounds each, statuses {sorted(statuses)}")
    print(f"  known email:   median {k:.2f} ms (p90 {statistics.quantiles(times['known'], n=10)[8] * 1000:.2f} ms)")
    print(f"  unknown email: median {u:.2f} ms (p90 {statistics.quantiles(times['unknown'], n=10)[8] * 1000:.2f} ms)")
    print(f"  ratio known/unknown: {k / u:.2f}")


if __name__ == "__main__":
    main()
