#!/usr/bin/env python3
"""Send rendered manifests to a kube-apiserver, for tests/cluster/it_deploy.sh.

  apply.py [--dry-run] [--only KIND,...] [--pods] [--delete] FILE
  apply.py --can-i VERB GROUP RESOURCE NAME   True/False (SelfSubjectAccessReview)

Connection from the environment: APISERVER (URL), CA, CERT and KEY (files),
or TOKEN instead of CERT/KEY. Each object of FILE (multi-document YAML) is
server-side applied (PATCH application/apply-patch+yaml, fieldManager
gatecheck-it-deploy, force) -- with --dry-run as dryRun=All, so nothing is
stored (the webhook configurations under a name of their own, see
RENAMED). --pods instead makes a Pod of every pod template (Deployment, Job,
CronJob) and creates it as a dry run: the namespace's Pod Security admission
judges it. --delete deletes the objects instead. One line per object:

  ok KIND NAMESPACE/NAME
  fail KIND NAMESPACE/NAME: the API server's message
  skip KIND NAMESPACE/NAME: why (a group/version the server does not serve)
"""
import json
import os
import ssl
import sys
import urllib.error
import urllib.request

import yaml


def ctx():
    c = ssl.create_default_context(cafile=os.environ["CA"])
    if os.environ.get("CERT"):
        c.load_cert_chain(os.environ["CERT"], os.environ["KEY"])
    return c


CTX = None


def req(method, path, body=None, ctype="application/json"):
    url = os.environ["APISERVER"].rstrip("/") + path
    r = urllib.request.Request(url, method=method, data=body)
    if body is not None:
        r.add_header("Content-Type", ctype)
    r.add_header("Accept", "application/json")
    if os.environ.get("TOKEN"):
        r.add_header("Authorization", "Bearer " + os.environ["TOKEN"])
    try:
        with urllib.request.urlopen(r, context=CTX, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, {"message": raw.decode(errors="replace")}


DISCOVERY = {}
RENAMED = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")


def resource_of(api_version, kind):
    """(plural, namespaced) or None when the group/version is not served."""
    if api_version not in DISCOVERY:
        path = "/api/v1" if api_version == "v1" else "/apis/" + api_version
        code, d = req("GET", path)
        DISCOVERY[api_version] = {} if code != 200 else {
            r["kind"]: (r["name"], r["namespaced"])
            for r in d.get("resources", []) if "/" not in r["name"]}
    return DISCOVERY[api_version].get(kind)


def obj_path(o):
    av, kind, md = o["apiVersion"], o["kind"], o["metadata"]
    res = resource_of(av, kind)
    if res is None:
        return None
    plural, namespaced = res
    base = "/api/v1" if av == "v1" else "/apis/" + av
    if namespaced:
        base += "/namespaces/" + md.get("namespace", "default")
    return base + "/" + plural, md["name"]


def pod_of(o):
    if o["kind"] not in ("Deployment", "Job", "CronJob"):
        return None
    spec = o["spec"]
    if o["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    t = spec["template"]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "it-deploy-" + o["metadata"]["name"],
                         "namespace": o["metadata"]["namespace"],
                         "labels": t.get("metadata", {}).get("labels", {})},
            "spec": t["spec"]}


def main():
    global CTX
    args = sys.argv[1:]
    dry = "--dry-run" in args
    pods = "--pods" in args
    delete = "--delete" in args
    only = None
    if "--only" in args:
        only = set(args[args.index("--only") + 1].split(","))
    path = args[-1]
    CTX = ctx()
    if "--can-i" in args:
        verb, group, resource, name = args[args.index("--can-i") + 1:][:4]
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"group": group, "verb": verb,
                                                "resource": resource, "name": name}}}
        code, d = req("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                      json.dumps(body).encode())
        print(d.get("status", {}).get("allowed", False) if code == 201 else "HTTP %d" % code)
        return 0
    bad = 0
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    for o in docs:
        kind, md = o["kind"], o["metadata"]
        label = "%s %s/%s" % (kind, md.get("namespace", ""), md["name"])
        if only is not None and kind not in only:
            continue
        if pods:
            p = pod_of(o)
            if p is None:
                continue
            label = "Pod(template of %s)" % label
            code, d = req("POST", "/api/v1/namespaces/%s/pods?dryRun=All&fieldManager=gatecheck-it-deploy"
                          % p["metadata"]["namespace"], json.dumps(p).encode())
        else:
            where = obj_path(o)
            if where is None:
                print("skip %s: %s is not served here (its CRDs are not installed)"
                      % (label, o["apiVersion"]))
                continue
            coll, name = where
            if dry and kind in RENAMED:
                # the cluster runs its own "gatecheck" configurations (by URL):
                # applying ours over them would merge url and service; judge
                # ours under a name of their own instead
                name = o["metadata"]["name"] = name + "-it-deploy"
                label += " (as %s)" % name
            if delete:
                code, d = req("DELETE", coll + "/" + name)
                if code == 404:
                    code = 200
            else:
                q = "?fieldManager=gatecheck-it-deploy&force=true" + ("&dryRun=All" if dry else "")
                code, d = req("PATCH", coll + "/" + name + q, yaml.safe_dump(o).encode(),
                              "application/apply-patch+yaml")
        if 200 <= code < 300:
            print("ok " + label)
        else:
            bad += 1
            print("fail %s: HTTP %d: %s" % (label, code, d.get("message", d)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
