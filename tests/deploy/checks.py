#!/usr/bin/env python3
"""Checks of the rendered manifests, for tests/cluster/it_deploy.sh.

  checks.py parse FILE                 every document parses as an object
  checks.py structure SP CM CONF VERSION  what issue 7 asks of the objects
                                       (self-provisioned, cert-manager and
                                       conformance renders); ok/fail lines
  checks.py narrow FILE                the ClusterRole of FILE without
                                       `create` on httproutes, as YAML
"""
import sys

import yaml


def load(p):
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(open(p)) if d}


def check(cond, what):
    print(("ok " if cond else "fail ") + what)
    return bool(cond)


def parse(p):
    docs = [d for d in yaml.safe_load_all(open(p)) if d]
    if not docs:
        print("fail no objects in " + p)
        return 1
    bad = 0
    for d in docs:
        if not (isinstance(d, dict) and d.get("apiVersion") and d.get("kind")
                and d.get("metadata", {}).get("name")):
            bad += 1
            print("fail not an object with apiVersion, kind and metadata.name: %r" % (d,)[:200])
    print("%d objects" % len(docs))
    return 1 if bad else 0


def webhook_checks(objs, label):
    v = objs[("ValidatingWebhookConfiguration", "gatecheck")]["webhooks"][0]
    m = objs[("MutatingWebhookConfiguration", "gatecheck")]["webhooks"][0]
    check(v["failurePolicy"] == "Fail" and m["failurePolicy"] == "Ignore",
          label + ": validating failurePolicy Fail, mutating Ignore")
    for w in (v, m):
        ex = [e for e in w["namespaceSelector"]["matchExpressions"]
              if e["key"] == "kubernetes.io/metadata.name" and e["operator"] == "NotIn"]
        check(ex and {"kube-system", "gatecheck-system"} <= set(ex[0]["values"]),
              label + ": " + w["name"] + " excludes kube-system and gatecheck-system")
        check(w["sideEffects"] == "None" and w["admissionReviewVersions"] == ["v1"]
              and w["timeoutSeconds"] == 5 and w["matchPolicy"] == "Equivalent"
              and w["rules"][0]["operations"] == ["CREATE", "UPDATE"]
              and w["rules"][0]["apiGroups"] == ["gateway.networking.k8s.io"],
              label + ": " + w["name"] + " sideEffects None, v1, 5 s, Equivalent, CREATE+UPDATE of the Gateway API group")
        s = w["clientConfig"]["service"]
        svc = objs.get(("Service", s["name"]))
        check(svc and s["namespace"] == "gatecheck-system" and s["port"] == 443
              and any(p["port"] == 443 and p["targetPort"] == "webhook" for p in svc["spec"]["ports"]),
              label + ": " + w["name"] + " calls Service gwhook:443, target port webhook")
    dep = objs[("Deployment", "gwhook")]
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    sc, psc = c["securityContext"], pod["securityContext"]
    check(any(p["name"] == "webhook" and p["containerPort"] == 9443 for p in c["ports"]),
          label + ": container port webhook is 9443")
    check(dep["spec"]["replicas"] == 2 and "podAntiAffinity" in pod.get("affinity", {}),
          label + ": 2 replicas with pod anti-affinity")
    check(psc["runAsNonRoot"] and psc["runAsUser"] == 65532
          and psc["seccompProfile"]["type"] == "RuntimeDefault"
          and sc["readOnlyRootFilesystem"] and sc["capabilities"]["drop"] == ["ALL"]
          and sc["allowPrivilegeEscalation"] is False,
          label + ": restricted securityContext (non-root 65532, RuntimeDefault, read-only root, drop ALL)")
    certdir = [a.split("=", 1)[1] for a in c["args"] if a.startswith("--cert-dir=")]
    mnt = [x for x in c["volumeMounts"] if certdir and x["mountPath"] == certdir[0]]
    vol = [x for x in pod["volumes"] if mnt and x["name"] == mnt[0]["name"]]
    check(vol and vol[0]["secret"]["secretName"] == "gwhook-tls" and "subPath" not in mnt[0],
          label + ": Secret gwhook-tls mounted whole at --cert-dir")
    check(c["livenessProbe"]["httpGet"]["port"] == "probes"
          and c["readinessProbe"]["httpGet"]["path"] == "/readyz"
          and any(p["name"] == "probes" and p["containerPort"] == 8081 for p in c["ports"]),
          label + ": probes on the probe port 8081")
    check(c["resources"].get("requests") and c["resources"].get("limits"),
          label + ": resource requests and limits")
    check(("PodDisruptionBudget", "gwhook") in objs and ("NetworkPolicy", "gwhook") in objs,
          label + ": a PodDisruptionBudget and a NetworkPolicy")


def images(objs):
    out = []
    for o in objs.values():
        spec = o.get("spec", {})
        if o["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        for c in spec.get("template", {}).get("spec", {}).get("containers", []):
            out.append(c["image"])
    return out


def structure(sp_p, cm_p, cf_p, version):
    sp, cm, cf = load(sp_p), load(cm_p), load(cf_p)
    for objs, label in ((sp, "self-provisioned"), (cm, "cert-manager"), (cf, "conformance")):
        imgs = images(objs)
        check(imgs and all(i == "gatecheck/gatecheck:" + version for i in imgs),
              "%s: every container runs gatecheck/gatecheck:%s (%s)" % (label, version, ", ".join(sorted(set(imgs)))))
    webhook_checks(sp, "self-provisioned")
    webhook_checks(cm, "cert-manager")
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        a = cm[(kind, "gatecheck")]["metadata"].get("annotations", {})
        check(a.get("cert-manager.io/inject-ca-from") == "gatecheck-system/gwhook-tls",
              "cert-manager: " + kind + " carries cert-manager.io/inject-ca-from")
    check(("Issuer", "gatecheck-ca") in cm
          and cm.get(("Certificate", "gwhook-tls"), {}).get("spec", {}).get("secretName") == "gwhook-tls",
          "cert-manager: a CA Issuer and Certificate gwhook-tls for Secret gwhook-tls")
    job = sp[("Job", "gwhook-certs")]["spec"]["template"]["spec"]["containers"][0]
    check(job["args"][0] == "certs" and "--patch-webhooks" in job["args"]
          and "--secret=gwhook-tls" in job["args"],
          "self-provisioned: the Job runs gwhook certs --secret=gwhook-tls --patch-webhooks")
    j = cf[("Job", "gwconform")]["spec"]
    t = j["template"]["spec"]
    g = t["containers"][0]
    check(j["backoffLimit"] == 0 and j["activeDeadlineSeconds"] > 0
          and j["ttlSecondsAfterFinished"] > 0 and t["restartPolicy"] == "Never",
          "conformance: backoffLimit 0, activeDeadlineSeconds, ttlSecondsAfterFinished, restartPolicy Never")
    check(any(a.startswith("--gateway-class=") for a in g["args"])
          and any(a.startswith("--supported-features=") for a in g["args"])
          and "--report-dir=/results" in g["args"]
          and any(v["mountPath"] == "/results" for v in g["volumeMounts"]),
          "conformance: --gateway-class, --supported-features, --report-dir on the results volume")
    return 0


def narrow(p):
    for d in yaml.safe_load_all(open(p)):
        if d and d["kind"] == "ClusterRole":
            rules = []
            for r in d["rules"]:
                if "httproutes" in r.get("resources", []):
                    rest = [x for x in r["resources"] if x != "httproutes"]
                    if rest:
                        rules.append(dict(r, resources=rest))
                    rules.append(dict(r, resources=["httproutes"],
                                      verbs=[v for v in r["verbs"] if v != "create"]))
                else:
                    rules.append(r)
            d["rules"] = rules
            print(yaml.safe_dump(d, sort_keys=False))
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "parse":
        sys.exit(parse(sys.argv[2]))
    if cmd == "structure":
        sys.exit(structure(*sys.argv[2:6]))
    if cmd == "narrow":
        sys.exit(narrow(sys.argv[2]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
