#!/usr/bin/env python3
"""Prints a SHA-256 over the result rows under a folder (bench/digest.sh), leaving out the fields
that differ between two runs of the same code: provenance, timings, paths and host."""
import hashlib
import json
import pathlib
import sys

# Keys (or key fragments) that are not results: they change with the commit, clock or folder.
SKIP = ('git', 'commit', 'date', 'time', 'seconds', '_s', 'host', 'dir', 'path', 'torch',
        'libtorch', 'version', 'provenance', 'config', 'threads', 'rss', 'mb', 'throughput')


def keep(key):
    return not any(key == s or key.endswith(s) or key.startswith(s) for s in SKIP)


def rows(root):
    """Every result.json (one per job) plus the similarity rows, keyed by their stable identity."""
    found = []
    for p in sorted(root.rglob('result.json')):
        found.append(json.loads(p.read_text()))
    for p in sorted(root.rglob('similarity*.jsonl')):
        found += [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
    for p in sorted((root / 'models').glob('*.pt')):
        found.append(trained_model(p))
    return found


def trained_model(path):
    """A trained model's metadata (accuracies, per-epoch loss) and a hash of its weights."""
    import torch  # only here: the rows above need no torch
    m = torch.jit.load(str(path))
    weights = hashlib.sha256()
    for name, t in sorted(m.state_dict().items()):
        weights.update(name.encode())
        weights.update(t.detach().contiguous().numpy().tobytes())
    info = json.loads(m.train_info)
    return {'model': path.name, 'weights_sha256': weights.hexdigest(),
            'clean_accuracy': m.clean_accuracy, 'robust_accuracy': m.robust_accuracy,
            'marker_accuracy': m.marker_accuracy, 'history': info['history']}


def flatten(value, prefix=''):
    """Nested dicts and lists become dotted keys, so a changed number anywhere changes the digest."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if keep(k):
                out.update(flatten(v, f'{prefix}{k}.'))
        return out
    if isinstance(value, list):
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f'{prefix}{i}.'))
        return out
    return {prefix.rstrip('.'): value}


def canonical(row):
    return dict(sorted(flatten(row).items()))


def main():
    root = pathlib.Path(sys.argv[1])
    found = [canonical(r) for r in rows(root)]
    if not found:
        sys.exit(f'digest: no result rows under {root}: did the runs fail? (see its *.log)')
    text = sorted(json.dumps(r, sort_keys=True) for r in found)
    digest = hashlib.sha256('\n'.join(text).encode()).hexdigest()
    print(f'{len(found)} rows, {len(found[0])} fields in the first; digest {digest}')


if __name__ == '__main__':
    main()
