#!/usr/bin/env python3
"""Hostile clients against a running `gwhook serve` (issue 9).

Nine attacks, one after the other, while a control client POSTs a valid
AdmissionReview to /validate every 20 ms over a keep-alive TLS connection
(as the API server's connection pool does) and a second one every 250 ms
over a fresh TLS connection each time (as when that pool dials anew). Each
attack asserts what "bounded" means for it (docs/RELIABILITY.md, "Hostile
clients") and prints one TAP line with its figures and the control's p50,
p99 and failures during it. Then: the server is alive, /readyz answers 200,
its fd count and RSS are back near where they started.

Python with only the standard library, not C: ssl gives a TLS 1.2/1.3
client whose versions, ALPN and record writes we control, threads make the
control clients a few lines, and 10,000 sockets are cheap here. What ssl
cannot do, TLS 1.2 renegotiation, is done by `openssl s_client` (its `R`
command). Run by tests/cli/hostile-serve.sh, which starts the server;
prints TAP numbered from 1 and writes "attacks= survived= control_p99_ms=
checks=" to --summary.
"""
import argparse
import json
import math
import os
import random
import re
import resource
import select
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
import warnings

MIB = 1 << 20


def now():
    return time.monotonic()


def pct(values, p):
    """The p-th percentile (nearest rank) of values; 0 for none."""
    if not values:
        return 0.0
    v = sorted(values)
    return v[max(0, min(len(v) - 1, math.ceil(p / 100.0 * len(v)) - 1))]


def review(uid, name="store", namespace="shop"):
    """A valid AdmissionReview of an HTTPRoute (allowed), compact JSON bytes."""
    obj = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "parentRefs": [{"name": "public", "namespace": "infra"}],
            "hostnames": ["store.example.com"],
            "rules": [{
                "matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
                "backendRefs": [{"name": "store", "port": 8080}],
            }],
        },
    }
    gvk = {"group": "gateway.networking.k8s.io", "version": "v1", "kind": "HTTPRoute"}
    gvr = {"group": "gateway.networking.k8s.io", "version": "v1", "resource": "httproutes"}
    req = {
        "uid": uid, "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
        "name": name, "namespace": namespace, "operation": "CREATE",
        "userInfo": {"username": "hostile-suite"}, "object": obj, "oldObject": None,
        "dryRun": False,
    }
    rv = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}
    return json.dumps(rv, separators=(",", ":")).encode()


def post(body, path="/validate?timeout=10s", headers=None, ctype="application/json"):
    """A POST; headers=None gives Content-Length, else exactly the lines given."""
    h = ["POST %s HTTP/1.1" % path, "Host: localhost", "Content-Type: " + ctype]
    h += ["Content-Length: %d" % len(body)] if headers is None else headers
    return ("\r\n".join(h) + "\r\n\r\n").encode("latin1") + body


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def closes(self):
        return self.headers.get("connection", "").lower() == "close"


class Reader:
    """HTTP/1.1 responses (Content-Length framed: all gwhook sends) off a socket."""

    def __init__(self, sock):
        self.sock, self.buf, self.eof = sock, b"", False

    def _fill(self, deadline):
        left = deadline - now()
        if left <= 0:
            raise TimeoutError("no answer in time")
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(65536)
        except (ssl.SSLEOFError, ConnectionResetError, BrokenPipeError):
            d = b""
        except ssl.SSLError as e:
            raise EOFError("TLS error: %s" % e.reason)
        if not d:
            self.eof = True
            raise EOFError("closed")
        self.buf += d

    def response(self, deadline):
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                break
            self._fill(deadline)
        lines = self.buf[:i].split(b"\r\n")
        m = re.match(rb"HTTP/1\.[01] (\d{3})", lines[0])
        if not m:
            raise ValueError("not a status line: %r" % lines[0][:60])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            headers[k.strip().lower().decode("latin1")] = v.strip().decode("latin1")
        end = i + 4 + int(headers.get("content-length", "0"))
        while len(self.buf) < end:
            self._fill(deadline)
        body, self.buf = self.buf[i + 4:end], self.buf[end:]
        return Resp(int(m.group(1)), headers, body)

    def responses(self, deadline):
        """Every response until the peer closes or goes quiet; (list, closed, leftover)."""
        out = []
        while True:
            try:
                out.append(self.response(deadline))
            except EOFError:
                return out, True, self.buf
            except TimeoutError:
                return out, False, self.buf
            except ValueError:
                try:  # garbage: read the rest for the record
                    while True:
                        self._fill(deadline)
                except (EOFError, TimeoutError):
                    pass
                return out, self.eof, self.buf


def closed_nb(sock):
    """For a non-blocking socket: True if the peer closed it (EOF, reset, TLS error)."""
    try:
        d = sock.recv(4096)
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
        return False, b""
    except (OSError, ssl.SSLError):
        return True, b""
    return (not d), d


def longest(conns, kind):
    """The longest time from start to close among the closed conns of a kind."""
    return max([c["closed"] - c["t0"] for c in conns if c["kind"] == kind and c["closed"]] or [0])


def peer_closed(sock):
    """For a non-blocking plain socket: True once the peer has closed it
    (after whatever it sent last, e.g. a TLS alert); False while open or
    still connecting."""
    try:
        while True:
            if not sock.recv(4096):
                return True
    except (BlockingIOError, InterruptedError):
        return False
    except ConnectionResetError:
        return True
    except OSError:
        return False  # not connected yet (the SYN queue was full)


class Server:
    def __init__(self, a):
        self.host, self.port, self.probe_port, self.pid = a.host, a.port, a.probe_port, a.pid
        self.ctx = ssl.create_default_context(cafile=a.ca)
        self.ctx.set_alpn_protocols(["http/1.1"])

    def connect(self, timeout=5.0, ctx=None):
        s = self.tcp(timeout)
        try:
            return (ctx or self.ctx).wrap_socket(s, server_hostname="localhost")
        except BaseException:
            s.close()
            raise

    def tcp(self, timeout=5.0):
        # TCP_NODELAY as Go's net/http (the API server) has it: else Nagle holds
        # the first request behind the unacknowledged TLS 1.3 Finished (40 ms)
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def fds(self):
        try:
            return len(os.listdir("/proc/%d/fd" % self.pid))
        except OSError:
            return -1

    def status_kib(self, field):
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return -1

    def rss_kib(self):
        return self.status_kib("VmRSS")

    def reset_peak(self):
        """Reset VmHWM (Linux clear_refs 5); False if not allowed."""
        try:
            with open("/proc/%d/clear_refs" % self.pid, "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    def alive(self):
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except OSError:
            return False

    def readyz(self):
        try:
            url = "http://%s:%d/readyz" % (self.host, self.probe_port)
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status
        except OSError as e:
            return getattr(e, "code", None) or str(e)

    def once(self, body=None, timeout=5.0):
        """A fresh connection, one POST; the Resp."""
        t = self.connect(timeout)
        try:
            t.sendall(post(body or review("once")))
            return Reader(t).response(now() + timeout)
        finally:
            t.close()


class Control(threading.Thread):
    """A client of the webhook that is not attacking: one valid review per interval.

    fresh=False: one keep-alive connection, reopened when the server closes it;
    fresh=True: a new TLS connection per request. Records (start, ms, ok, why).
    """

    def __init__(self, srv, interval, fresh, timeout):
        super().__init__(daemon=True)
        self.srv, self.interval, self.fresh, self.timeout = srv, interval, fresh, timeout
        self.samples = []
        self.halt = threading.Event()
        self.busy_since = None  # start of the request in flight

    def settle(self, t1, limit):
        """Wait (up to limit s) for a request begun by t1 to be recorded."""
        end = now() + limit
        while now() < end:
            b = self.busy_since
            if b is None or b > t1:
                return
            time.sleep(0.02)

    def run(self):
        conn, rd, i = None, None, 0
        due = now()
        while not self.halt.is_set():
            i += 1
            uid = "control-%s-%d" % ("fresh" if self.fresh else "ka", i)
            t0 = now()
            self.busy_since = t0
            ok, why = False, ""
            try:
                if conn is None:
                    conn = self.srv.connect(self.timeout)
                    rd = Reader(conn)
                conn.sendall(post(review(uid)))
                r = rd.response(t0 + self.timeout)
                ok = r.status == 200 and uid.encode() in r.body
                why = "" if ok else "HTTP %d" % r.status
                if r.closes() or self.fresh:
                    conn.close()
                    conn = None
            except (OSError, EOFError, ValueError, ssl.SSLError) as e:
                why = type(e).__name__
                if conn is not None:
                    conn.close()
                conn = None
            self.samples.append((t0, (now() - t0) * 1000.0, ok, why))
            self.busy_since = None
            due += self.interval
            wait = due - now()
            if wait > 0:
                self.halt.wait(wait)
            else:
                due = now()
        if conn is not None:
            conn.close()

    def window(self, t0, t1):
        s = [x for x in self.samples if t0 <= x[0] <= t1]
        lat = [x[1] for x in s if x[2]]
        fails = [x[3] for x in s if not x[2]]
        return {"n": len(s), "p50": pct(lat, 50), "p99": pct(lat, 99), "max": max(lat or [0]),
                "fail": len(fails), "why": sorted(set(fails))}


class FdSampler(threading.Thread):
    """The server's fd count every 20 ms: the peak within any window."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv, self.samples, self.halt = srv, [], threading.Event()

    def run(self):
        while not self.halt.is_set():
            self.samples.append((now(), self.srv.fds()))
            self.halt.wait(0.02)

    def peak(self, t0, t1):
        return max([n for t, n in self.samples if t0 <= t <= t1] or [-1])


class Suite:
    def __init__(self, a):
        self.a = a
        self.srv = Server(a)
        self.n = 0
        self.failed_checks = 0
        self.attacks = 0
        self.survived = 0
        self.windows = []
        self.ka = Control(self.srv, 0.02, False, 5.0)
        # a fresh connection may wait in the kernel's accept queue (10,000 idle)
        self.fresh = Control(self.srv, 0.25, True, 20.0)
        self.fd = FdSampler(self.srv)
        self.fd_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]

    # ---- TAP ----
    def tap(self, ok, text):
        self.n += 1
        if not ok:
            self.failed_checks += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", self.n, text), flush=True)

    def diag(self, text):
        for line in str(text).splitlines():
            print("#   " + line, flush=True)

    def control_text(self, t0, t1, fresh_bound=True):
        k, f = self.ka.window(t0, t1), self.fresh.window(t0, t1)
        ok = k["fail"] == 0 and k["p99"] <= self.a.p99_bound and f["fail"] == 0
        if fresh_bound:
            ok = ok and f["p99"] <= self.a.fresh_bound
        text = ("control p99 %.1f ms (p50 %.1f, %d requests), %d control failures; "
                "fresh-connection p99 %.0f ms, %d failures" % (
                    k["p99"], k["p50"], k["n"], k["fail"] + f["fail"], f["p99"], f["fail"]))
        why = k["why"] + f["why"]
        return ok, text, why

    def attack(self, name, fn):
        """Run one attack; it returns (ok, figures); adds the control's figures."""
        self.attacks += 1
        t0 = now()
        self.srv.reset_peak()
        try:
            ok, figures, extra = fn()
        except Exception as e:  # an attack's own failure: report, go on
            ok, figures, extra = False, "attack failed: %s: %s" % (type(e).__name__, e), []
        # the control's figures cover the attack and at least a second
        time.sleep(max(0.0, t0 + 1.0 - now()))
        t1 = now()
        self.ka.settle(t1, self.ka.timeout + 1)
        self.fresh.settle(t1, self.fresh.timeout + 1)
        c_ok, c_text, why = self.control_text(t0, t1, name != "10000 idle connections")
        alive = self.srv.alive()
        ok = ok and c_ok and alive
        self.windows.append((t0, t1))
        if ok:
            self.survived += 1
        self.tap(ok, "%s: %s, %s (%.1f s)%s" % (name, figures, c_text, t1 - t0,
                                                "" if alive else "; SERVER DIED"))
        if not c_ok and why:
            self.diag("control failures: " + ", ".join(why))
        for line in extra:
            self.diag(line)

    # ---- attacks ----
    def slowloris(self):
        """Many slow headers: half send part of a request head and go silent,
        half send one header line a second (never silent for --conn-timeout).
        Bounded: the server closes every one within --conn-timeout (+2 s of
        timer granularity and scheduling) of its start: libmicrohttpd's idle
        timeout for the silent ones, the server's request-head watchdog for
        the trickling ones (without it they would stay open for as long as
        they trickle)."""
        a = self.a
        n = min(200, max(2, a.conn_limit - 40))
        conns = []
        head = (b"POST /validate?timeout=10s HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\n")
        kept = []

        def legit_client():
            """Not an attacker: pauses shorter than --conn-timeout between
            requests, longer than it in all: never cut by the watchdog."""
            try:
                t = self.srv.connect()
                rd = Reader(t)
                for i in range(3):
                    if i:
                        time.sleep(0.6 * a.conn_timeout)
                    t.sendall(post(review("legit-%d" % i)))
                    kept.append(rd.response(now() + 5.0).status)
                t.close()
            except (OSError, EOFError, ValueError) as e:
                kept.append(type(e).__name__)
        legit = threading.Thread(target=legit_client, daemon=True)
        legit.start()
        for i in range(n):
            t0 = now()
            s = self.srv.connect()
            kind = "trickle" if i % 2 else "silent"
            s.sendall(head if kind == "trickle" else head[:40])
            s.setblocking(False)
            conns.append({"s": s, "t0": t0, "kind": kind, "closed": None, "data": b"", "lines": 0})
        bound = a.conn_timeout + 2.0
        end = now() + bound + 2.0
        next_line = now() + 1.0
        while now() < end and any(c["closed"] is None for c in conns):
            live = [c for c in conns if c["closed"] is None]
            r, _, _ = select.select([c["s"] for c in live], [], [], 0.05)
            for c in live:
                if c["s"] in r:
                    gone, d = closed_nb(c["s"])
                    c["data"] += d
                    if gone:
                        c["closed"] = now()
            if now() >= next_line:
                next_line += 1.0
                for c in conns:
                    if c["kind"] == "trickle" and c["closed"] is None:
                        try:
                            c["s"].send(b"X-Slow-%d: %d\r\n" % (c["lines"], c["lines"]))
                            c["lines"] += 1
                        except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                            pass
                        except (OSError, ssl.SSLError):
                            c["closed"] = now()
        still = [c for c in conns if c["closed"] is None]
        for c in conns:
            c["s"].close()
        held = {k: longest(conns, k) for k in ("silent", "trickle")}
        answered = [c for c in conns if c["data"] and not c["data"].startswith(b"HTTP/1.1 408")]
        lines = max(c["lines"] for c in conns)
        legit.join(3 * a.conn_timeout)
        ok = not still and max(held.values()) <= bound and not answered and kept == [200, 200, 200]
        fig = ("bounded (held %d conns, %s within %.1fs: silent ones %.1fs, ones trickling a "
               "header line a second %.1fs after %d lines; bound %.0fs; a keep-alive client "
               "pausing %.1fs between requests: %s)" % (
                   n, "%d STILL OPEN, the others closed" % len(still) if still else "all closed",
                   max(held.values()), held["silent"], held["trickle"], lines, bound,
                   0.6 * a.conn_timeout,
                   "3 of 3 answered on one connection" if kept == [200, 200, 200]
                   else "got %s" % kept))
        extra = []
        if still:
            extra.append("%d connections still open after %.0f s (%d trickling)" % (
                len(still), end - conns[0]["t0"], sum(c["kind"] == "trickle" for c in still)))
        if answered:
            extra.append("unexpected answers: %r" % answered[0]["data"][:120])
        return ok, fig, extra

    def slow_body(self):
        """A complete head, then the body slowly. Half send half the body and go
        silent: closed by --conn-timeout. Half trickle a byte every 0.5 s with
        ?timeout=2s (as the API server sends it): the server drops the
        connection at the first byte after the 2 s deadline. Bounded: closed
        within its bound (+2 s), no verdict on a partial body (nothing, 408 or 504)."""
        a = self.a
        n = min(100, max(2, a.conn_limit - 40))
        body = review("slow-body")
        conns = []
        for i in range(n):
            kind = "trickle" if i % 2 else "silent"
            path = "/validate?timeout=2s" if kind == "trickle" else "/validate?timeout=10s"
            s = self.srv.connect()
            req = post(body, path)
            head_len = len(req) - len(body)
            s.sendall(req[:head_len + (len(body) // 2 if kind == "silent" else 1)])
            t0 = now()
            s.setblocking(False)
            conns.append({"s": s, "t0": t0, "kind": kind, "closed": None, "data": b"",
                          "rest": req[head_len + 1:] if kind == "trickle" else b""})
        bounds = {"silent": a.conn_timeout + 2.0, "trickle": 2.0 + 0.5 + 2.0}
        end = now() + max(bounds.values()) + 2.0
        next_byte = now() + 0.5
        while now() < end and any(c["closed"] is None for c in conns):
            live = [c for c in conns if c["closed"] is None]
            r, _, _ = select.select([c["s"] for c in live], [], [], 0.05)
            for c in live:
                if c["s"] in r:
                    gone, d = closed_nb(c["s"])
                    c["data"] += d
                    if gone:
                        c["closed"] = now()
            if now() >= next_byte:
                next_byte += 0.5
                for c in conns:
                    if c["kind"] == "trickle" and c["closed"] is None and c["rest"]:
                        try:
                            c["s"].send(c["rest"][:1])
                            c["rest"] = c["rest"][1:]
                        except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                            pass
                        except (OSError, ssl.SSLError):
                            c["closed"] = now()
        still = [c for c in conns if c["closed"] is None]
        for c in conns:
            c["s"].close()
        held = {k: longest(conns, k) for k in bounds}
        over = [k for k in bounds if held[k] > bounds[k]]
        codes = sorted({c["data"][9:12].decode("latin1") for c in conns if c["data"]})
        judged = [x for x in codes if x not in ("408", "504")]
        ok = not still and not over and not judged
        fig = ("bounded (%d conns: half the body then silence closed within %.1fs (bound %.0fs), a "
               "byte every 0.5s with ?timeout=2s closed within %.1fs (bound %.1fs), "
               "answers: %s)" % (
                   n, held["silent"], bounds["silent"], held["trickle"], bounds["trickle"],
                   ", ".join(codes) or "none, the connection closed"))
        extra = ["%d connections still open" % len(still)] if still else []
        return ok, fig, extra

    def idle(self):
        """10,000 TCP connections that never say a word. Bounded: the server
        holds at most --conn-limit of them (its fd count never exceeds the
        start + --conn-limit + 8), closes each after --conn-timeout and, once
        the attacker lets go, serves new connections again within
        --conn-timeout + 5 s (draining 8,000 closed connections from the accept
        queues takes 0.2 to 2.5 s here; waiting them out would take minutes).
        Connections opened during the attack wait in
        the kernel's accept queue behind the attacker's: measured, not bounded
        (the fresh-connection control's figures)."""
        a = self.a
        n = a.idle
        note = ""
        room = self.fd_limit - 256
        if room < n:
            n = max(100, room)
            note = " (scaled down from %d: fd limit %d)" % (a.idle, self.fd_limit)
        start_fds = self.srv.fds()
        socks = []
        t0 = now()
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect((a.host, a.port))
            except (BlockingIOError, InterruptedError):
                pass
            socks.append(s)
        opened = now() - t0
        hold = 2 * a.conn_timeout + 1.0
        probe_wait = []

        def late_probe():  # one fresh request 1 s into the attack: how long it waits
            time.sleep(1.0)
            p0 = now()
            try:
                r = self.srv.once(timeout=hold + 15.0)
                probe_wait.append((now() - p0, r.status))
            except (OSError, EOFError, ValueError) as e:
                probe_wait.append((now() - p0, type(e).__name__))
        th = threading.Thread(target=late_probe, daemon=True)
        th.start()
        time.sleep(max(0.0, t0 + hold - now()))
        peak = self.fd.peak(t0, now())
        closed = sum(1 for s in socks if peer_closed(s))
        released = now()
        for s in socks:
            s.close()
        socks = None
        recover = None
        while now() - released < a.conn_timeout + 10.0:
            try:
                if self.srv.once(timeout=a.conn_timeout + 10.0).status == 200:
                    recover = now() - released
                    break
            except (OSError, EOFError, ValueError):
                time.sleep(0.1)
        th.join(hold + 20.0)
        settle = now() + a.conn_timeout + 3.0
        while self.srv.fds() > start_fds + 4 and now() < settle:
            time.sleep(0.1)
        end_fds = self.srv.fds()
        cap = start_fds + a.conn_limit + 8
        # the accept queues hold up to 2 x 4096 of the attacker's closed
        # connections: each costs an accept and a close, not --conn-timeout
        rec_bound = a.conn_timeout + 5.0
        pw = probe_wait[0] if probe_wait else (None, "no answer")
        ok = (0 <= peak <= cap and closed > 0 and recover is not None and recover <= rec_bound
              and pw[1] == 200 and end_fds <= start_fds + 4)
        fig = ("bounded (%d idle conns%s opened in %.1fs and held %.0fs: server fds peaked at "
               "%d (allowed: start %d + conn-limit %d + 8 = %d), it closed %d of them by "
               "--conn-timeout; "
               "a new connection made 1s in was answered after %s (queued behind the attack); "
               "after release a new connection served within %s (bound %.0fs), fds back to %d)" % (
                   n, note, opened, hold, peak, start_fds, a.conn_limit, cap, closed,
                   "%.1fs" % pw[0] if pw[1] == 200 else "never (%s)" % (pw[1],),
                   "%.2fs" % recover if recover is not None else "never", rec_bound, end_fds))
        return ok, fig, []

    def tls_garbage(self):
        """Bytes that are not a TLS 1.2+ handshake. Bounded: the connection is
        closed within 1.5 s when the first record is bad (nothing but an alert
        sent back, never HTTP), within --conn-timeout + 2 s when the record
        never completes (random bytes whose first ones read as the header of
        a long record, SSLv2-style or TLS, wait for it); the server keeps
        serving."""
        a = self.a
        rnd = random.Random(9)
        k = 16
        shapes = {
            "random bytes": (lambda: bytes(rnd.getrandbits(8) for _ in range(2048)), "stall"),
            "plain HTTP": (lambda: post(review("plain")), "prompt"),
            "record length 65535": (lambda: b"\x16\x03\x01\xff\xff" + bytes(64), "prompt"),
            # CLIENT-HELLO, version 2, 7 cipher specs, 16-byte challenge
            "SSLv2 hello": (lambda: bytes.fromhex(
                "802e01000200150000001001008007" "00c0030080060040020080040080080080") + bytes(16),
                "prompt"),
            "alert storm": (lambda: b"\x15\x03\x03\x00\x02\x01\x00" * 512, "prompt"),
            "truncated record": (lambda: b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "stall"),
        }
        conns = []
        for name, (gen, kind) in shapes.items():
            for _ in range(k):
                s = self.srv.tcp()
                try:
                    s.sendall(gen())
                except OSError:
                    pass
                s.setblocking(False)
                conns.append({"s": s, "t0": now(), "shape": name, "kind": kind, "closed": None,
                              "data": b""})
        # after a good handshake: records that fail to decrypt
        for _ in range(k):
            t = self.srv.connect()
            raw = socket.socket(fileno=os.dup(t.fileno()))
            raw.sendall(b"\x17\x03\x03\x00\x40" + bytes(rnd.getrandbits(8) for _ in range(64)))
            raw.setblocking(False)
            conns.append({"s": raw, "t0": now(), "shape": "bad record after handshake",
                          "kind": "prompt", "closed": None, "data": b"", "keep": t})
        # TLS 1.0 and 1.1 only: refused (versions below 1.2)
        old = []
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ssl.TLSVersion.TLSv1
                ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            for _ in range(4):
                t0 = now()
                try:
                    self.srv.connect(ctx=ctx).close()
                    old.append((now() - t0, "handshake completed"))
                except ssl.SSLError as e:
                    old.append((now() - t0, e.reason or "ssl error"))
                except OSError as e:
                    old.append((now() - t0, type(e).__name__))
        except (ValueError, ssl.SSLError):
            old = []  # this OpenSSL cannot offer TLS 1.0: skip that shape
        bounds = {"prompt": 1.5, "stall": a.conn_timeout + 2.0}
        end = now() + bounds["stall"] + 2.0
        while now() < end and any(c["closed"] is None for c in conns):
            live = [c for c in conns if c["closed"] is None]
            r, _, _ = select.select([c["s"] for c in live], [], [], 0.05)
            for c in live:
                if c["s"] in r:
                    gone, d = closed_nb(c["s"])
                    c["data"] += d
                    if gone:
                        c["closed"] = now()
        for c in conns:
            c["s"].close()
            if "keep" in c:
                c["keep"].close()
        worst = {}
        bad = []
        for c in conns:
            held = (c["closed"] - c["t0"]) if c["closed"] else float("inf")
            worst[c["shape"]] = max(worst.get(c["shape"], 0), held)
            if held > bounds[c["kind"]] or b"HTTP/" in c["data"]:
                bad.append(c["shape"])
        old_ok = all(w[1] != "handshake completed" and w[0] <= bounds["prompt"] for w in old)
        ok = not bad and old_ok
        prompt = max(w for s, w in worst.items() if shapes.get(s, (0, "prompt"))[1] == "prompt")
        stall = max(w for s, w in worst.items() if shapes.get(s, (0, "prompt"))[1] == "stall")
        quick = sum(1 for c in conns if c["shape"] == "random bytes" and c["closed"]
                    and c["closed"] - c["t0"] <= bounds["prompt"])
        fig = ("bounded (%d conns of %d shapes: bad first records closed within %.2fs "
               "(bound %.1fs), truncated records within %.1fs (bound %.0fs; random bytes: %d of "
               "%d closed at once)%s)" % (
                   len(conns) + len(old), len(shapes) + 1 + (1 if old else 0), prompt,
                   bounds["prompt"], stall, bounds["stall"], quick, k,
                   ", TLS 1.0/1.1 refused in %.2fs (%s)" % (max(w[0] for w in old), old[0][1])
                   if old else ", TLS 1.0/1.1 not tried: this OpenSSL will not offer them"))
        extra = ["over bound or answered: %s" % ", ".join(sorted(set(bad)))] if bad else []
        if not old_ok:
            extra.append("TLS 1.0/1.1: %r" % old)
        return ok, fig, extra

    def s_client(self, version, command, after_request):
        """openssl s_client: handshake, then a command line (R, K); returns
        (seconds from the command to the connection's end or None, lines after it)."""
        p = subprocess.Popen(
            ["openssl", "s_client", "-connect", "%s:%d" % (self.a.host, self.a.port), version,
             "-CAfile", self.a.ca, "-servername", "localhost", "-msg"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        lines = []
        done = threading.Event()
        sent = [None]

        def reader():
            for raw in p.stdout:
                lines.append((now(), raw.decode("latin1").rstrip("\n")))
            done.set()
        th = threading.Thread(target=reader, daemon=True)
        th.start()
        t_end = now() + 10.0
        while now() < t_end and not any("Verify return code" in x for _, x in lines):
            if done.wait(0.02):
                break
        try:
            time.sleep(0.2)
            sent[0] = now()
            p.stdin.write(command.encode() + b"\n")
            p.stdin.flush()
            if after_request:
                time.sleep(0.3)
                p.stdin.write(post(review("after-" + command.strip())))
                p.stdin.flush()
            done.wait(2.0)  # s_client exits when the server closes
        except OSError:
            pass
        finally:
            try:
                p.stdin.close()
            except OSError:
                pass
            try:
                p.wait(3.0)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        th.join(2.0)
        after = [(t - sent[0], x) for t, x in lines if sent[0] and t >= sent[0]]
        end = next((dt for dt, x in after if x.strip() in ("closed", "DONE")
                    or "close_notify" in x or "errno" in x), None)
        return end, [x for _, x in after]

    def renegotiation(self):
        """TLS 1.2 clients asking to renegotiate (openssl s_client's R), five
        times: TLS 1.3 has no renegotiation and the server must not do a
        second handshake in 1.2 either. Bounded: no ServerHello comes back, the
        connection is closed within 1 s of the request. Also a TLS 1.3
        KeyUpdate (s_client's K), legitimate: answered and the connection
        still serves a request after it."""
        if not shutil.which("openssl"):
            return True, "not run: no openssl CLI", []
        results = []
        for _ in range(5):
            results.append(self.s_client("-tls1_2", "R", False))
        bad = []
        worst = 0.0
        for end, after in results:
            again = any("ServerHello" in x for x in after)
            if again or end is None or end > 1.0:
                bad.append((end, again, after[-6:]))
            worst = max(worst, end if end is not None else 99)
        k_end, k_after = self.s_client("-tls1_3", "K", True)
        k_served = any(x.startswith("HTTP/1.1 200") for x in k_after)
        k_update = any("KeyUpdate" in x for x in k_after if x.startswith("<<<"))
        ok = not bad and k_served
        fig = ("bounded (5 TLS 1.2 renegotiation requests: no second handshake, each connection "
               "closed %.3fs after it at most; a TLS 1.3 KeyUpdate %s and the connection then "
               "served a request: %s)" % (worst, "answered" if k_update else "not answered",
                                          "yes" if k_served else "no"))
        extra = ["renegotiation: closed after %s, ServerHello: %s; last lines: %r" % b for b in bad]
        if not k_served:
            extra.append("KeyUpdate run: %r" % k_after[-8:])
        return ok, fig, extra

    def exchange(self, data, quiet=0.7, timeout=8.0):
        """One connection: write data at once; the responses until close or quiet."""
        t = self.srv.connect()
        try:
            t.sendall(data)
            rd = Reader(t)
            out = []
            end = now() + timeout
            while True:
                got, closed, left = rd.responses(min(end, now() + quiet))
                out += got
                if closed or not got or now() >= end:
                    return out, closed, left
        finally:
            t.close()

    def pipelining(self):
        """Requests back to back in one write. Bounded: every answer comes, in
        order (each carries its request's uid), nothing more; a request refused
        from its head (404, 413: libmicrohttpd closes after an answer queued
        before the body) ends the connection without a word about the ones
        behind it, cleanly (its answer, then the close)."""
        cases = []
        two = post(review("pipe-1")) + post(review("pipe-2"))
        cases.append(("2 reviews", two, [(200, "pipe-1"), (200, "pipe-2")], None))
        many = b"".join(post(review("pipe-%02d" % i)) for i in range(16))
        cases.append(("16 reviews", many, [(200, "pipe-%02d" % i) for i in range(16)], None))
        cases.append(("malformed JSON then a review",
                      post(b'{"apiVersion":') + post(review("pipe-b")),
                      [(400, None), (200, "pipe-b")], None))
        # refused from its head: libmicrohttpd closes after an answer queued before the body
        cases.append(("GET /healthz then a review",
                      b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n" + post(review("pipe-c")),
                      [(404, None)], True))
        big = post(b"", headers=["Content-Length: %d" % (self.a.max_body + 1)])
        cases.append(("413 (too large, body not sent) then a review", big + post(review("pipe-d")),
                      [(413, None)], True))
        bad = []
        for name, data, want, must_close in cases:
            got, closed, left = self.exchange(data)
            seen = [(r.status, r.body) for r in got]
            match = len(seen) == len(want) and all(
                s == w and (u is None or (b'"uid":"%s"' % u.encode()) in b)
                for (s, b), (w, u) in zip(seen, want))
            if not match or left or (must_close and not closed):
                bad.append("%s: got %s, closed %s, leftover %r" % (
                    name, [s for s, _ in seen], closed, left[:60]))
        n = sum(len(w) for _, _, w, _ in cases)
        fig = ("safe (%d pipelined exchanges, %d requests: every answer in order with its uid, "
               "no extra bytes; after a 404 or 413 refused from the head the connection closed, "
               "the request behind it unanswered)" % (len(cases), n))
        return not bad, fig, bad

    def smuggling(self):
        """Framing shapes a front end and the server could read differently,
        each followed in the same write by `GET /smuggled`: a 404 for it would
        mean the leftover bytes were taken as a second request. Bounded: CL+TE
        in either order, a Transfer-Encoding other than a single chunked,
        Content-Length fields that differ, an obs-folded Content-Length → 400
        and Connection: close, the smuggled GET never answered; an invalid
        Content-Length → libmicrohttpd's own 400 and close; identical
        duplicate Content-Length fields are one value (RFC 9110 §8.6): 200,
        and the GET after it is then an honest pipelined request (404)."""
        body = review("smuggle")
        L = len(body)
        sm = b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
        chunked = b"%x\r\n" % L + body + b"\r\n0\r\n\r\n"
        cases = [
            ("CL+TE", ["Content-Length: %d" % (L + 40), "Transfer-Encoding: chunked"], chunked,
             400),
            ("TE+CL", ["Transfer-Encoding: chunked", "Content-Length: 5"], chunked, 400),
            ("TE xchunked", ["Transfer-Encoding: xchunked", "Content-Length: %d" % L], body, 400),
            ("TE identity", ["Transfer-Encoding: identity"], body, 400),
            ("TE chunked, identity", ["Transfer-Encoding: chunked, identity"], chunked, 400),
            ("TE twice", ["Transfer-Encoding: chunked"] * 2, chunked, 400),
            ("CL twice, different", ["Content-Length: %d" % L, "Content-Length: %d" % (L + 44)],
             body, 400),
            # the folded value declares the smuggled GET as the body
            ("obs-fold CL", ["Content-Length: 0", " %d" % len(sm)], b"", 400),
            ("CL not a number", ["Content-Length: %dx" % L], body, 400),
            ("CL twice, same", ["Content-Length: %d" % L, "Content-Length: %d" % L], body, 200),
        ]
        bad = []
        for name, hdrs, payload, want in cases:
            got, closed, left = self.exchange(post(payload, headers=hdrs) + sm)
            codes = [r.status for r in got]
            if want == 200:
                ok = codes == [200, 404]
            else:
                ok = bool(codes) and codes[0] == want and closed and 404 not in codes and (
                    got[0].closes())
            if not ok:
                bad.append("%s: got %s, closed %s, leftover %r" % (name, codes, closed, left[:80]))
        fig = ("safe (%d shapes: %d refused with 400 and the connection closed, the smuggled "
               "request never answered; identical duplicate Content-Length accepted)" % (
                   len(cases), sum(1 for c in cases if c[3] == 400)))
        return not bad, fig, bad

    def invalid_utf8(self):
        """Invalid UTF-8 in the review's strings and keys (the object's name
        and namespace, as the request's too, a key, the uid). Bounded: a 200
        AdmissionReview for the same uid (a verdict) or a 400 with an error,
        never a crash; the server keeps serving."""
        base = review("utf8", name="NAMEX", namespace="NSX")
        subs = [
            ("0xff 0xfe in the name", b"NAMEX", b"st\xff\xfe"),
            ("overlong '/' in the namespace", b"NSX", b"\xc0\xafshop"),
            ("UTF-16 surrogate bytes in the namespace", b"NSX", b"\xed\xa0\x80"),
            ("a sequence cut at the name's end", b"NAMEX", b"store\xe2\x82"),
            ("a lone continuation byte in a key", b'"hostnames"', b'"host\x80names"'),
            ("invalid bytes in the uid", b'"uid":"utf8"', b'"uid":"ut\xff8"'),
            ("an escaped lone surrogate \\ud800 in the name", b"NAMEX", b"st\\ud800ore"),
            ("an escaped NUL \\u0000 in the name", b"NAMEX", b"st\\u0000ore"),
            ("Latin-1 in the name", b"NAMEX", b"caf\xe9"),
        ]
        bad, seen, echoed = [], [], []
        for name, old, new in subs:
            body = base.replace(old, new).replace(b"NAMEX", b"store").replace(b"NSX", b"shop")
            try:
                r = self.srv.once(body)
            except (OSError, EOFError, ValueError) as e:
                r = None
                bad.append("%s: %s" % (name, type(e).__name__))
            if r is None:
                continue
            uid = b'"uid":"ut\xff8"' if b"ut\xff8" in new else b'"uid":"utf8"'
            ok = ((r.status == 200 and b'"kind":"AdmissionReview"' in r.body and uid in r.body)
                  or (r.status == 400 and b'"error"' in r.body))
            seen.append("%d%s" % (r.status, "" if b'"allowed":true' not in r.body else " allowed"))
            try:
                r.body.decode("utf-8")
            except UnicodeDecodeError:
                echoed.append(name)
            if not ok:
                bad.append("%s: %s %r" % (name, r.status, r.body[:100]))
        fig = ("no crash (%d bodies: answers %s; %d of them carry the invalid bytes back)" % (
            len(subs), ", ".join(seen), len(echoed)))
        extra = bad
        if echoed:
            extra = bad + ["answers with invalid UTF-8 (echoed): %s; the API server's JSON decoder "
                           "turns it into U+FFFD" % "; ".join(echoed)]
        return not bad, fig, extra

    def stream(self, head, total, chunked):
        """Send head, then up to total body bytes as fast as the server takes
        them while reading; (bytes sent, status or None, seconds, how it ended)."""
        t = self.srv.connect()
        t0 = now()
        sent, resp, how = 0, b"", "sent everything"
        piece = b"x" * 65536
        if chunked:
            piece = b"%x\r\n" % len(piece) + piece + b"\r\n"
        try:
            t.sendall(head)
            t.setblocking(False)
            end = now() + 30.0
            while sent < total:
                if now() > end:
                    how = "timeout"
                    break
                r, w, _ = select.select([t], [t], [], 1.0)
                if r:
                    gone, d = closed_nb(t)
                    resp += d
                    if gone:
                        how = "closed by the server"
                        break
                if w:
                    try:
                        sent += t.send(piece)
                    except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                        pass
                    except (OSError, ssl.SSLError):
                        how = "closed by the server"
                        break
            # what is left to read (the 413 may be behind the close)
            for _ in range(20):
                gone, d = closed_nb(t)
                resp += d
                if gone or not d:
                    break
        finally:
            t.close()
        m = re.match(rb"HTTP/1\.1 (\d{3})", resp)
        return sent, int(m.group(1)) if m else None, now() - t0, how

    def big_body(self):
        """100 MiB bodies. With Content-Length: refused with 413 from the head,
        before the body is read: the client gets to send less than --max-body
        (socket buffers) before the server answers or closes. Chunked (no
        length to refuse up front): counted, not stored, past --max-body, the
        connection cut at 2 x --max-body, so at most that plus socket buffers
        (8 MiB) is sent. Either way the server's RSS peak grows by less than
        4 x --max-body + 32 MiB (a doubling buffer, realloc's copy, ASan's
        16 MiB quarantine), far below the 100 MiB sent at it."""
        a = self.a
        total = 100 * MIB
        peak_ok = self.srv.reset_peak()
        rss0 = self.srv.rss_kib()
        head = post(b"", headers=["Content-Length: %d" % total])
        cl = self.stream(head, total, False)
        cl_rss = self.srv.status_kib("VmHWM") - rss0
        self.srv.reset_peak()
        rss1 = self.srv.rss_kib()
        chead = post(b"", headers=["Transfer-Encoding: chunked"])
        ch = self.stream(chead, total, True)
        ch_rss = self.srv.status_kib("VmHWM") - rss1
        growth = max(cl_rss, ch_rss)
        bound = (4 * a.max_body + 32 * MIB) // 1024
        ok = (cl[0] < a.max_body and cl[1] in (413, None) and cl[3] == "closed by the server"
              and ch[0] <= 2 * a.max_body + 8 * MIB and ch[3] == "closed by the server"
              and ch[1] in (413, None) and (not peak_ok or growth <= bound))
        fig = ("bounded (Content-Length 100 MiB: %s after %.1f MiB sent in %.2fs; chunked 100 MiB: "
               "%s after %.1f MiB (cut at 2 x max-body %.1f MiB); RSS peak +%.1f MiB%s, bound "
               "%.0f MiB)" % (
                   "413" if cl[1] == 413 else "closed (the 413 lost to the reset)", cl[0] / MIB,
                   cl[2], "413" if ch[1] == 413 else "closed", ch[0] / MIB, 2 * a.max_body / MIB,
                   growth / 1024.0, "" if peak_ok else " (sampled: clear_refs refused)",
                   bound / 1024.0))
        extra = []
        if not ok:
            extra.append("content-length run: sent %d, status %s, %.2fs, %s" % cl)
            extra.append("chunked run: sent %d, status %s, %.2fs, %s" % ch)
        return ok, fig, extra

    # ---- the run ----
    def wait_ready(self):
        end = now() + 20.0
        while now() < end:
            if self.srv.readyz() == 200:
                try:
                    if self.srv.once().status == 200:
                        return True
                except (OSError, EOFError, ValueError):
                    pass
            time.sleep(0.2)
        return False

    def run(self):
        a = self.a
        t_start = now()
        if not self.wait_ready():
            self.tap(False, "the server answers /readyz 200 and a review (pid %d)" % a.pid)
            return
        self.ka.start()
        self.fresh.start()
        self.fd.start()
        time.sleep(1.5)  # warm up, then the baseline
        b0 = now()
        time.sleep(2.0)
        start_fds, start_rss = self.srv.fds(), self.srv.rss_kib()
        ok, text, _ = self.control_text(b0, now())
        print("# baseline (no attack, 2 s): %s; server fds %d, RSS %.1f MiB" % (
            text, start_fds, start_rss / 1024.0), flush=True)
        attacks = [
            ("slowloris", self.slowloris),
            ("slow body", self.slow_body),
            ("10000 idle connections", self.idle),
            ("TLS handshake garbage", self.tls_garbage),
            ("renegotiation", self.renegotiation),
            ("pipelining", self.pipelining),
            ("request smuggling shapes", self.smuggling),
            ("invalid UTF-8", self.invalid_utf8),
            ("100 MiB body", self.big_body),
        ]
        only = set(a.only.split(",")) if a.only else None
        for name, fn in attacks:
            if only and not any(o in name for o in only):
                continue
            self.attack(name, fn)
        self.ka.halt.set()
        self.fresh.halt.set()
        self.ka.join(10)
        self.fresh.join(25)
        # after the suite
        alive = self.srv.alive()
        self.tap(alive, "the server is alive after every attack (pid %d)" % a.pid)
        rz = self.srv.readyz() if alive else "dead"
        self.tap(rz == 200, "/readyz answers %s" % rz)
        settle = now() + a.conn_timeout + 5.0
        while self.srv.fds() > start_fds and now() < settle:
            time.sleep(0.2)
        end_fds, end_rss = self.srv.fds(), self.srv.rss_kib()
        # the control's keep-alive connection is closed now: one fewer than at the start
        self.tap(0 <= end_fds <= start_fds + 2,
                 "server fds back near the start: %d at the start, %d at the end (bound +2)" % (
                     start_fds, end_fds))
        rss_bound = (4 * a.max_body + 32 * MIB) // 1024
        self.tap(0 <= end_rss <= start_rss + rss_bound,
                 "server RSS back near the start: %.1f MiB at the start, %.1f MiB at the end "
                 "(bound +%.0f MiB: allocator caches and ASan's quarantine)" % (
                     start_rss / 1024.0, end_rss / 1024.0, rss_bound / 1024.0))
        self.fd.halt.set()
        print("# %d control requests during the attacks; run time %.1f s" % (
            len(self.attack_latencies()), now() - t_start), flush=True)

    def attack_latencies(self):
        return [x[1] for x in self.ka.samples
                if x[2] and any(t0 <= x[0] <= t1 for t0, t1 in self.windows)]

    def write_summary(self):
        if self.a.summary:
            with open(self.a.summary, "w") as f:
                f.write("attacks=%d survived=%d control_p99_ms=%.1f checks=%d failed=%d\n" % (
                    self.attacks, self.survived, pct(self.attack_latencies(), 99), self.n,
                    self.failed_checks))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--probe-port", type=int, required=True)
    p.add_argument("--ca", required=True, help="the CA that signed the serving certificate")
    p.add_argument("--pid", type=int, required=True, help="the server's pid (/proc figures)")
    p.add_argument("--conn-timeout", type=float, default=3.0, help="as given to the server")
    p.add_argument("--conn-limit", type=int, default=256, help="as given to the server")
    p.add_argument("--max-body", type=int, default=7 * MIB, help="as given to the server")
    p.add_argument("--idle", type=int, default=10000, help="idle connections (default 10000)")
    p.add_argument("--p99-bound", type=float, default=250.0,
                   help="control p99 bound in ms (default 250)")
    p.add_argument("--fresh-bound", type=float, default=1000.0,
                   help="fresh-connection control p99 bound in ms, but during the 10,000 idle "
                   "connections (default 1000: ~16 samples an attack, so about their maximum)")
    p.add_argument("--only", help="comma-separated attack names (substrings) to run")
    p.add_argument("--summary", help="write the summary line here")
    a = p.parse_args()
    s = Suite(a)
    try:
        s.run()
    except Exception as e:  # noqa: BLE001 (a bug here must still end the TAP cleanly)
        s.tap(False, "hostile.py ran to its end (%s: %s)" % (type(e).__name__, e))
    finally:
        s.write_summary()
    return 1 if s.failed_checks else 0


if __name__ == "__main__":
    sys.exit(main())
