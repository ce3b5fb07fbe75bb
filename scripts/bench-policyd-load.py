#!/usr/bin/env python3
"""Load generator for scripts/bench-policyd.sh: fills a test API server with
a synthetic cluster, makes timed changes to it, and times the daemon's
/healthz, all with plain HTTPS requests over several connections at once
(kubectl costs a process and a discovery round per object).

  populate  --pods N --policies M [--first-pod K] [--first-policy K]
            [--local-pods L --node NAME]
  churn     --metrics ADDR --count N          one "KIND WRITE_MS E2E_MS" line a change
  settle    --metrics ADDR --pods N --policies M [--timeout S]
  wait-ready --metrics ADDR --armed FILE [--timeout S]
  list-time --path PATH                      seconds to page through a list

The API server comes from APISERVER, TOKEN and CACERT in the environment
(scripts/apiserver.sh env). Every object is a pure function of its index,
so populate can grow a cluster in steps and churn knows what it changes.
"""
import argparse
import http.client
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

NAMESPACES = 10
APPS = 20
TIERS = ("web", "api", "db")
REMOTE_NODES = 50
# Identity numbers of the remote label sets: FIRST_ID + combo index.
FIRST_ID = 1000
PROPAGATION_COUNT = "bulkhead_policy_propagation_seconds_count"


def die(msg):
    print("bench-policyd-load: " + msg, file=sys.stderr)
    sys.exit(1)


# ------------------------------------------------------------ the cluster


def ns_name(i):
    return "bench%d" % (i % NAMESPACES)


def ns_labels(i):
    return {"kubernetes.io/metadata.name": ns_name(i), "team": "t%d" % (i % 3)}


def combo(i):
    """Pod i's (namespace, app, tier): it repeats every 600 pods."""
    return (i % NAMESPACES, (i // NAMESPACES) % APPS, i % len(TIERS))


# Every (namespace, app, tier) is combo(c) of exactly one c below this
# (c mod 10 and c mod 200 give c mod 200, with c mod 3 that is c mod 600).
COMBOS = 600


def pod_labels(app, tier):
    return {"app": "a%d" % app, "tier": TIERS[tier]}


def identity_obj(c):
    nsi, app, tier = combo(c)
    labels = dict(pod_labels(app, tier))
    for k, v in ns_labels(nsi).items():
        labels["ns:" + k] = v
    return {"apiVersion": "bulkhead.io/v1", "kind": "BulkheadIdentity",
            "metadata": {"name": str(FIRST_ID + c)}, "labels": labels}


def pod_ip(i):
    """Remote pods: 10.200.0.1 onwards, 250 a /24."""
    return "10.%d.%d.%d" % (200 + i // 62500, (i // 250) % 250, i % 250 + 1)


def pod_obj(name, nsi, app, tier, node):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns_name(nsi),
                         "labels": pod_labels(app, tier)},
            "spec": {"nodeName": node, "automountServiceAccountToken": False,
                     "containers": [{"name": "c", "image": "none", "ports": [
                         {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                         {"name": "dns", "containerPort": 53, "protocol": "UDP"}]}]}}


def remote_pod(i):
    nsi, app, tier = combo(i)
    return pod_obj("p%d" % i, nsi, app, tier, "node%d" % (i % REMOTE_NODES))


def local_pod(j, node):
    """Local pod j: same label space as the remote ones, so policy k
    selects local pod k % 20 (same namespace, same app)."""
    return pod_obj("l%d" % j, j % NAMESPACES, j % APPS, j % len(TIERS), node)


def policy_obj(k, port=None):
    """Five shapes of policy, each selecting local pod k % 20; port, when
    given, replaces the first ingress rule's port (what churn changes)."""
    shape = k % 5
    sel = {"matchLabels": {"app": "a%d" % (k % APPS)}}
    spec = {"podSelector": sel}
    if shape == 0:
        spec["ingress"] = [{"from": [{"podSelector": {"matchLabels": {"tier": "web"}}}],
                            "ports": [{"protocol": "TCP", "port": port or 80 + k % 50}]}]
    elif shape == 1:
        spec["ingress"] = [{"from": [{
            "namespaceSelector": {"matchLabels": {"team": "t%d" % (k % 3)}},
            "podSelector": {"matchExpressions": [{
                "key": "app", "operator": "In",
                "values": ["a%d" % ((k + d) % APPS) for d in (1, 2, 3)]}]}}],
            "ports": [{"protocol": "TCP", "port": "http"}]}]
    elif shape == 2:
        spec["policyTypes"] = ["Egress"]
        spec["egress"] = [{"to": [{"podSelector": {"matchExpressions": [
            {"key": "tier", "operator": "NotIn", "values": ["db"]}]}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 443}]}]
    elif shape == 3:
        spec["ingress"] = [{"from": [{"ipBlock": {
            "cidr": "10.200.%d.0/24" % (k % 40), "except": ["10.200.%d.128/25" % (k % 40)]}}],
            "ports": [{"protocol": "TCP", "port": 9000 + k % 100}]}]
    else:
        spec["policyTypes"] = ["Ingress", "Egress"]
        spec["ingress"] = [{"from": [{"namespaceSelector": {},
                                      "podSelector": {"matchLabels": {"app": "a%d" % ((k + 1) % APPS)}}}]}]
        spec["egress"] = [{"to": [{"podSelector": {"matchLabels": {"tier": "db"}}}],
                           "ports": [{"protocol": "TCP", "port": 5432}]}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "np%d" % k, "namespace": ns_name(k)}, "spec": spec}


# ------------------------------------------------------------ the API


class Api:
    """One keep-alive HTTPS connection a thread."""

    def __init__(self):
        try:
            url = urllib.parse.urlsplit(os.environ["APISERVER"])
            self.token = os.environ["TOKEN"]
            cacert = os.environ["CACERT"]
        except KeyError as e:
            die("%s is not set (scripts/apiserver.sh env DIR)" % e)
        self.host, self.port = url.hostname, url.port
        self.ctx = ssl.create_default_context(cafile=cacert)
        self.local = threading.local()

    def conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=30)
            self.local.conn = c
        return c

    def call(self, method, path, body, ctype="application/json", ok_conflict=False):
        """The status; fails on anything but 2xx (and 409 when allowed)."""
        data = json.dumps(body).encode()
        headers = {"Authorization": "Bearer " + self.token, "Content-Type": ctype,
                   "Accept": "application/json"}
        for attempt in range(3):
            c = self.conn()
            try:
                c.request(method, path, data, headers)
                r = c.getresponse()
                text = r.read()
                break
            except (OSError, http.client.HTTPException):
                # A dropped keep-alive connection: reconnect, retry.
                c.close()
                self.local.conn = None
                if attempt == 2:
                    raise
        if 200 <= r.status < 300 or (ok_conflict and r.status == 409):
            return r.status
        raise RuntimeError("%s %s: %d %s" % (method, path, r.status, text[:300].decode(errors="replace")))

    def create(self, path, obj):
        return self.call("POST", path, obj, ok_conflict=True)

    def merge_patch(self, path, patch):
        return self.call("PATCH", path, patch, "application/merge-patch+json")


    def get(self, path):
        """The body of a GET; fails on anything but 200."""
        c = self.conn()
        c.request("GET", path, headers={"Authorization": "Bearer " + self.token,
                                        "Accept": "application/json"})
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError("GET %s: %d %s" % (path, r.status, body[:300].decode(errors="replace")))
        return body


def run_all(workers, fn, items):
    """fn over items on WORKERS threads; the first failure ends the run."""
    with ThreadPoolExecutor(max_workers=workers) as ex:
        for _ in ex.map(fn, items):
            pass


def pod_path(ns):
    return "/api/v1/namespaces/%s/pods" % ns


def policy_path(ns):
    return "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies" % ns


def populate(a):
    api = Api()
    t0 = time.monotonic()

    def make_ns(i):
        api.create("/api/v1/namespaces", {"metadata": {"name": ns_name(i), "labels": ns_labels(i)}})
        api.create("/api/v1/namespaces/%s/serviceaccounts" % ns_name(i),
                   {"metadata": {"name": "default"}})

    def make_identity(c):
        api.create("/apis/bulkhead.io/v1/bulkheadidentities", identity_obj(c))

    def make_remote(i):
        ns = ns_name(i)
        api.create(pod_path(ns), remote_pod(i))
        ip = pod_ip(i)
        api.merge_patch("%s/p%d/status" % (pod_path(ns), i),
                        {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}})

    def make_local(j):
        api.create(pod_path(ns_name(j)), local_pod(j, a.node))

    def make_policy(k):
        api.create(policy_path(ns_name(k)), policy_obj(k))

    run_all(a.workers, make_ns, range(NAMESPACES))
    run_all(a.workers, make_identity, range(COMBOS))
    run_all(a.workers, make_local, range(a.local_pods))
    run_all(a.workers, make_remote, range(a.first_pod, a.pods))
    run_all(a.workers, make_policy, range(a.first_policy, a.policies))
    print("populate: pods %d..%d, policies %d..%d in %.1f s" % (
        a.first_pod, a.pods - 1, a.first_policy, a.policies - 1, time.monotonic() - t0),
        file=sys.stderr)


CONTINUE = re.compile(rb'"continue":"([^"]*)"')


def list_time(a):
    """Pages through PATH as the daemon does (500 a page), reading every
    byte but parsing only the continue token: what the API server alone
    costs a resync."""
    api = Api()
    t0 = time.monotonic()
    cont = None
    for _ in range(100000):
        q = "?limit=500" + ("&continue=" + urllib.parse.quote(cont) if cont else "")
        body = api.get(a.path + q)
        # The list's metadata comes before its items.
        m = CONTINUE.search(body[:4096])
        cont = m.group(1).decode() if m and m.group(1) else None
        if not cont:
            break
    print("%.6f" % (time.monotonic() - t0))


# ------------------------------------------------------------ the daemon


def scrape(addr, path="/metrics"):
    """(status, body) of one GET on the daemon; (0, "") when it does not answer."""
    host, port = addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()
    except (OSError, http.client.HTTPException):
        return 0, ""
    finally:
        c.close()


def metric_values(addr):
    status, body = scrape(addr)
    if status != 200:
        return None
    v = {}
    for line in body.splitlines():
        if line and line[0] != "#":
            name, _, val = line.rpartition(" ")
            try:
                v[name] = float(val)
            except ValueError:
                pass
    return v


def propagations(addr):
    v = metric_values(addr)
    return None if v is None else v.get(PROPAGATION_COUNT)


def settle(a):
    """Waits until the daemon holds the whole cluster and has applied
    nothing for QUIET seconds."""
    deadline = time.monotonic() + a.timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        v = metric_values(a.metrics) or {}
        now = time.monotonic()
        state = (v.get("bulkhead_pods"), v.get("bulkhead_networkpolicies"),
                 v.get(PROPAGATION_COUNT), v.get("bulkhead_identities"))
        if state != last:
            last, since = state, now
        elif (state[0] == a.pods and state[1] == a.policies and
              now - since >= a.quiet):
            return
        time.sleep(0.05)
    die("the daemon did not settle in %d s: pods, policies, propagations, identities = %r"
        % (a.timeout, last))


def wait_ready(a):
    """Polls /healthz from the moment FILE says it is armed; prints the
    wall-clock time (time.time) of the first 200."""
    with open(a.armed, "w"):
        pass
    deadline = time.monotonic() + a.timeout
    while time.monotonic() < deadline:
        status, _ = scrape(a.metrics, "/healthz")
        if status == 200:
            print("%.6f" % time.time())
            return
        time.sleep(0.002)
    die("the daemon was not ready in %d s" % a.timeout)


def churn(a):
    """COUNT changes, one at a time: even ones a policy's port, odd ones a
    remote pod's tier label. Each waits for the daemon's propagation count
    to move. Prints "KIND WRITE_MS E2E_MS": the write's round trip, and from
    its response to the first scrape that shows it applied."""
    api = Api()
    npolicies = a.policies - a.policies % 5
    if npolicies < 5 or a.pods < COMBOS:
        die("churn needs at least 5 policies and %d pods" % COMBOS)
    tiers = {}
    misses = 0
    for n in range(a.count):
        before = propagations(a.metrics)
        if before is None:
            die("no metrics from %s" % a.metrics)
        if n % 2 == 0:
            # Shape-0 policies, each in turn, to a port not used before.
            k = (n // 2 * 5) % npolicies
            kind = "policy-port"
            method, path = "PATCH", "%s/np%d" % (policy_path(ns_name(k)), k)
            body = {"spec": policy_obj(k, port=20000 + n)["spec"]}
        else:
            i = (n // 2 * 97) % a.pods
            nsi, app, tier = combo(i)
            new = (tiers.get(i, tier) + 1) % len(TIERS)
            tiers[i] = new
            kind = "pod-label"
            method, path = "PATCH", "%s/p%d" % (pod_path(ns_name(i)), i)
            body = {"metadata": {"labels": {"tier": TIERS[new]}}}
        t_send = time.monotonic()
        api.call(method, path, body, "application/merge-patch+json")
        t_resp = time.monotonic()
        deadline = t_resp + a.timeout
        seen = None
        while time.monotonic() < deadline:
            now_count = propagations(a.metrics)
            if now_count is not None and now_count > before:
                seen = time.monotonic()
                break
            time.sleep(0.0005)
        if seen is None:
            misses += 1
            print("%s %.3f timeout" % (kind, (t_resp - t_send) * 1e3))
            continue
        print("%s %.3f %.3f" % (kind, (t_resp - t_send) * 1e3, (seen - t_resp) * 1e3))
        sys.stdout.flush()
    if misses:
        print("churn: %d of %d changes not applied within %d s" % (misses, a.count, a.timeout),
              file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("populate")
    s.add_argument("--pods", type=int, required=True)
    s.add_argument("--first-pod", type=int, default=0)
    s.add_argument("--policies", type=int, required=True)
    s.add_argument("--first-policy", type=int, default=0)
    s.add_argument("--local-pods", type=int, default=0)
    s.add_argument("--node", default="n1")
    s.add_argument("--workers", type=int, default=16)
    s = sub.add_parser("churn")
    s.add_argument("--metrics", required=True)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--pods", type=int, required=True, help="remote pods present")
    s.add_argument("--policies", type=int, required=True)
    s.add_argument("--timeout", type=int, default=5, help="seconds a change may take")
    s = sub.add_parser("settle")
    s.add_argument("--metrics", required=True)
    s.add_argument("--pods", type=int, required=True, help="all pods, local ones too")
    s.add_argument("--policies", type=int, required=True)
    s.add_argument("--quiet", type=float, default=0.5)
    s.add_argument("--timeout", type=int, default=60)
    s = sub.add_parser("wait-ready")
    s.add_argument("--metrics", required=True)
    s.add_argument("--armed", required=True)
    s.add_argument("--timeout", type=int, default=60)
    s = sub.add_parser("list-time")
    s.add_argument("--path", required=True)
    a = p.parse_args()
    try:
        {"populate": populate, "churn": churn, "settle": settle,
         "wait-ready": wait_ready, "list-time": list_time}[a.cmd](a)
    except (RuntimeError, OSError, http.client.HTTPException) as e:
        die(str(e))


if __name__ == "__main__":
    main()
