#!/usr/bin/env python3
"""Writes a deterministic multi-document YAML stream of Kubernetes-like objects.

    bench/gen_docs.py OUT [--mb 10] [--seed 1]

The documents look like what `idp` reads and writes: Deployments, Services,
ConfigMaps, Knative Services and OAM Applications, with nested maps, lists,
env vars, labels and annotations, quoted strings that a YAML 1.1 reader would
otherwise retype ("on", "0755", "true", "1.0"), ints, floats, multi-line
literal and folded blocks, flow-style lists and some non-ASCII text.

The text is written by hand (no YAML library) so that the same seed gives the
same bytes everywhere. It avoids scalars on which YAML 1.1 readers disagree
(plain 1e3, 0o17, dates, sexagesimals), so PyYAML and idp type every value
alike. Prints one line: "<path>: <bytes> bytes, <docs> documents".
"""
import argparse
import random
import sys

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima "
         "mike november oscar papa quebec romeo sierra tango uniform victor whiskey "
         "xray yankee zulu api web worker cache queue auth billing search gateway "
         "orders payments users ledger notify report ingest export health metrics").split()
TEAMS = ("platform", "payments", "search", "data", "identity", "growth", "mobile", "sre")
NON_ASCII = ("café", "naïve façade", "Zürich", "São Paulo", "日本語のテキスト", "ñandú",
             "Ελληνικά", "Кириллица", "emoji ✅ ok", "→ arrow", "µs latency", "北京")
# Strings a YAML 1.1 reader would retype if they were plain: always quoted.
TRICKY = ("on", "off", "yes", "no", "y", "n", "true", "false", "null", "~", "0755",
          "0644", "1.0", "10", "0x1F", "1e3", "", "12:30", "2024-01-01", "+1", ".inf")
IMAGES = ("nginx:1.25.3", "redis:7.2-alpine", "postgres:15.4", "ghcr.io/example/api:v{}.{}.{}",
          "registry.example.org/team/{}:sha-{:07x}", "busybox:1.36")


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.n = 0

    # -- small values ------------------------------------------------------
    def word(self):
        return self.r.choice(WORDS)

    def name(self, parts=2):
        return "-".join(self.word() for _ in range(parts)) + "-" + str(self.r.randrange(1000))

    def image(self):
        t = self.r.choice(IMAGES)
        if "{}.{}.{}" in t:
            return t.format(self.r.randrange(4), self.r.randrange(20), self.r.randrange(50))
        if "sha-" in t:
            return t.format(self.word(), self.r.randrange(1 << 28))
        return t

    def keys(self, n, make):
        """n distinct map keys from make() (duplicate keys are an error in idp)."""
        seen = []
        while len(seen) < n:
            k = make()
            if k not in seen:
                seen.append(k)
        return seen

    def sentence(self, lo=4, hi=14):
        ws = [self.word() for _ in range(self.r.randint(lo, hi))]
        if self.r.random() < 0.15:
            ws.insert(self.r.randrange(len(ws) + 1), self.r.choice(NON_ASCII))
        return " ".join(ws)

    def dq(self, s):
        """A double-quoted YAML scalar."""
        out = []
        for ch in s:
            if ch == "\\":
                out.append("\\\\")
            elif ch == '"':
                out.append('\\"')
            elif ch == "\t":
                out.append("\\t")
            elif ch == "\n":
                out.append("\\n")
            else:
                out.append(ch)
        return '"' + "".join(out) + '"'

    def env_value(self):
        k = self.r.random()
        if k < 0.3:
            return self.dq(self.r.choice(TRICKY))
        if k < 0.45:
            return self.dq(str(self.r.randrange(100000)))
        if k < 0.55:
            return "'" + self.sentence(2, 6).replace("'", "''") + "'"
        if k < 0.65:
            return self.dq("postgres://{}:{}@db-{}.svc:5432/{}?sslmode=require".format(
                self.word(), self.word(), self.r.randrange(9), self.word()))
        return self.word() + "-" + self.word()

    def labels(self, ind, app, extra=0):
        lines = [
            ind + "app.kubernetes.io/name: " + app,
            ind + "app.kubernetes.io/part-of: " + self.word(),
            ind + "app.kubernetes.io/version: " + self.dq("{}.{}".format(self.r.randrange(5), self.r.randrange(10))),
            ind + "team: " + self.r.choice(TEAMS),
        ]
        for key in self.keys(extra, lambda: "example.org/" + self.word()):
            lines.append(ind + key + ": " + self.word())
        return lines

    def annotations(self, ind):
        lines = [ind + "app.oam.dev/component: " + self.word()]
        if self.r.random() < 0.5:
            lines.append(ind + "description: " + self.dq(self.sentence()))
        if self.r.random() < 0.3:
            lines.append(ind + "example.org/notes: |")
            for _ in range(self.r.randint(2, 5)):
                lines.append(ind + "  " + self.sentence())
        if self.r.random() < 0.3:
            lines.append(ind + "example.org/enabled: " + self.dq(self.r.choice(("on", "off", "yes", "no"))))
        lines.append(ind + "example.org/weight: " + self.dq("{:.2f}".format(self.r.random())))
        return lines

    def metadata(self, name, ns, app, ind=""):
        out = [ind + "metadata:", ind + "  name: " + name]
        if ns:
            out.append(ind + "  namespace: " + ns)
        out.append(ind + "  labels:")
        out += self.labels(ind + "    ", app, self.r.randrange(3))
        out.append(ind + "  annotations:")
        out += self.annotations(ind + "    ")
        return out

    def container(self, ind, app):
        """A container as a list item; ind is the column of the '-'."""
        i = ind + "  "
        port = self.r.choice((80, 8080, 8443, 9090, 3000, 5432, 6379))
        out = [ind + "- name: " + app, i + "image: " + self.image(),
               i + "imagePullPolicy: IfNotPresent"]
        if self.r.random() < 0.4:
            out.append(i + "args: [" + ", ".join(self.dq("--" + self.word() + "=" + self.word())
                                                  for _ in range(self.r.randint(1, 4))) + "]")
        if self.r.random() < 0.25:
            out += [i + "command:", i + "- /bin/sh", i + "- -c", i + "- |"]
            out.append(i + "  set -eu")
            for _ in range(self.r.randint(2, 6)):
                out.append(i + "  echo " + self.dq(self.sentence(2, 6)) + " >> /tmp/" + self.word() + ".log")
            out.append(i + "  exec /app/" + self.word() + " --port " + str(port))
        out += [i + "ports:", i + "- containerPort: " + str(port), i + "  name: http",
                i + "  protocol: TCP"]
        out.append(i + "env:")
        for _ in range(self.r.randint(2, 9)):
            key = (self.word() + "_" + self.word()).upper()
            out.append(i + "- name: " + key)
            if self.r.random() < 0.15:
                out += [i + "  valueFrom:", i + "    secretKeyRef:",
                        i + "      name: " + self.name(1), i + "      key: " + self.word()]
            else:
                out.append(i + "  value: " + self.env_value())
        cpu = self.r.choice((50, 100, 250, 500, 1000))
        mem = self.r.choice((64, 128, 256, 512, 1024))
        out += [i + "resources:",
                i + "  requests: {cpu: " + str(cpu) + "m, memory: " + str(mem) + "Mi}",
                i + "  limits:",
                i + "    cpu: " + self.dq(str(cpu * 2) + "m"),
                i + "    memory: " + str(mem * 2) + "Mi"]
        out += [i + "readinessProbe:", i + "  httpGet:", i + "    path: /health",
                i + "    port: " + str(port),
                i + "  initialDelaySeconds: " + str(self.r.randrange(1, 30)),
                i + "  periodSeconds: " + str(self.r.choice((5, 10, 15))),
                i + "  failureThreshold: " + str(self.r.randrange(1, 6))]
        if self.r.random() < 0.5:
            out += [i + "volumeMounts:", i + "- name: config", i + "  mountPath: /etc/" + app,
                    i + "  readOnly: true"]
        return out

    # -- documents ---------------------------------------------------------
    def deployment(self):
        app, ns = self.name(), self.r.choice(TEAMS)
        out = ["apiVersion: apps/v1", "kind: Deployment"] + self.metadata(app, ns, app)
        out += ["spec:", "  replicas: " + str(self.r.randrange(1, 8)),
                "  revisionHistoryLimit: 10",
                "  progressDeadlineSeconds: 600",
                "  selector:", "    matchLabels:", "      app.kubernetes.io/name: " + app,
                "  strategy:", "    type: RollingUpdate",
                "    rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}",
                "  template:", "    metadata:", "      labels:"]
        out += self.labels("        ", app)
        out += ["    spec:", "      serviceAccountName: " + app,
                "      terminationGracePeriodSeconds: 30",
                "      securityContext:", "        runAsNonRoot: true",
                "        runAsUser: " + str(self.r.randrange(1000, 65000)),
                "        fsGroup: 2000",
                "      containers:"]
        for _ in range(self.r.choice((1, 1, 1, 2, 3))):
            out += self.container("      ", self.name(1))
        out += ["      volumes:", "      - name: config", "        configMap:",
                "          name: " + app + "-config", "          defaultMode: 420"]
        if self.r.random() < 0.3:
            out += ["      tolerations:",
                    "      - {key: dedicated, operator: Equal, value: " + self.word() + ", effect: NoSchedule}"]
        return out

    def service(self):
        app, ns = self.name(), self.r.choice(TEAMS)
        out = ["apiVersion: v1", "kind: Service"] + self.metadata(app, ns, app)
        out += ["spec:", "  type: " + self.r.choice(("ClusterIP", "ClusterIP", "NodePort")),
                "  selector:", "    app.kubernetes.io/name: " + app, "  ports:"]
        for j in range(self.r.randint(1, 3)):
            p = self.r.choice((80, 443, 8080, 9090))
            out += ["  - name: " + self.word(), "    port: " + str(p),
                    "    targetPort: " + str(8000 + j), "    protocol: TCP"]
        return out

    def configmap(self):
        app, ns = self.name(), self.r.choice(TEAMS)
        out = ["apiVersion: v1", "kind: ConfigMap"] + self.metadata(app + "-config", ns, app)
        out.append("data:")
        for key in self.keys(self.r.randint(2, 6), lambda: self.word().upper() + "_" + self.word().upper()):
            out.append("  " + key + ": " + self.dq(self.r.choice(TRICKY)))
        out.append("  app.properties: |")
        for _ in range(self.r.randint(3, 12)):
            out.append("    " + self.word() + "." + self.word() + "=" + self.sentence(1, 4))
        out.append("  config.yaml: |")
        out += ["    server:", "      port: " + str(self.r.randrange(1024, 65535)),
                "      host: 0.0.0.0", "    features:"]
        for _ in range(self.r.randint(1, 4)):
            out.append("      - " + self.word())
        out.append("  motd: >")
        for _ in range(self.r.randint(2, 4)):
            out.append("    " + self.sentence())
        return out

    def knative(self):
        app, ns = self.name(), self.r.choice(TEAMS)
        out = ["apiVersion: serving.knative.dev/v1", "kind: Service"] + self.metadata(app, ns, app)
        out += ["spec:", "  template:", "    metadata:", "      annotations:",
                "        autoscaling.knative.dev/minScale: " + self.dq(str(self.r.randrange(0, 2))),
                "        autoscaling.knative.dev/maxScale: " + self.dq(str(self.r.randrange(2, 20))),
                "        autoscaling.knative.dev/target: " + self.dq(str(self.r.choice((10, 50, 100)))),
                "    spec:",
                "      containerConcurrency: " + str(self.r.choice((0, 10, 100))),
                "      timeoutSeconds: 300", "      containers:"]
        out += self.container("      ", app)
        out += ["  traffic:"]
        pct = self.r.randrange(0, 101)
        out += ["  - latestRevision: true", "    percent: " + str(pct)]
        if pct < 100:
            out += ["  - revisionName: " + app + "-0000" + str(self.r.randrange(1, 9)),
                    "    percent: " + str(100 - pct), "    tag: previous"]
        return out

    def application(self):
        app, ns = self.name(), self.r.choice(TEAMS)
        out = ["apiVersion: core.oam.dev/v1beta1", "kind: Application"] + self.metadata(app, ns, app)
        out += ["spec:", "  components:"]
        for _ in range(self.r.randint(1, 4)):
            out += ["  - name: " + self.name(1),
                    "    type: " + self.r.choice(("webservice", "worker", "postgresql", "redis")),
                    "    properties:",
                    "      image: " + self.image(),
                    "      port: " + str(self.r.choice((80, 8080))),
                    "      cpu: " + "{:.2f}".format(self.r.choice((0.25, 0.5, 1.0, 1.5))),
                    "      ratio: " + "{:.4f}".format(self.r.random()),
                    "      exposed: " + self.r.choice(("true", "false")),
                    "      tags: [" + ", ".join(self.word() for _ in range(self.r.randint(0, 4))) + "]",
                    "      description: " + self.dq(self.sentence()),
                    "    traits:",
                    "    - type: scaler",
                    "      properties: {replicas: " + str(self.r.randrange(1, 10)) + "}",
                    "    - type: labels",
                    "      properties:",
                    "        team: " + self.r.choice(TEAMS),
                    "        cost-center: " + self.dq(str(self.r.randrange(1000, 9999)))]
        out += ["  policies:", "  - name: topology", "    type: topology",
                "    properties:", "      clusters: [" + self.dq("local") + "]",
                "      namespace: " + ns]
        return out

    def doc(self):
        self.n += 1
        k = self.r.random()
        if k < 0.35:
            return self.deployment()
        if k < 0.55:
            return self.service()
        if k < 0.75:
            return self.configmap()
        if k < 0.90:
            return self.knative()
        return self.application()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--mb", type=float, default=10.0, help="target size in MB (10^6 bytes)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    g = Gen(args.seed)
    target = int(args.mb * 1e6)
    size = 0
    with open(args.out, "wb") as f:
        while size < target:
            text = ("---\n" + "\n".join(g.doc()) + "\n").encode("utf-8")
            f.write(text)
            size += len(text)
    print("{}: {} bytes, {} documents".format(args.out, size, g.n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
