#!/usr/bin/python3
"""Write an app with N url entries for load measurements (issue 11):
   gen_scale_app.py N DIR [--per-file K]
Entries as bench/bench.py writes them (distinct regexes, FileHandler);
K entries per imported file (default 10, as the bench), or 0 for one file.
Measure: /usr/bin/time -v build/gramex-config check --gramexpath conf DIR/gramex.yaml
"""
import os
import sys


def entry(i):
    return [f'  r{i}:', f'    pattern: /$YAMLURL/r{i}/item/([0-9]+)/page',
            '    handler: FileHandler', '    kwargs: {path: $YAMLPATH/../hit.txt}']


def main():
    n, root = int(sys.argv[1]), sys.argv[2]
    per_file = int(sys.argv[sys.argv.index('--per-file') + 1]) if '--per-file' in sys.argv else 10
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, 'hit.txt'), 'w') as f:
        f.write('hit\n')
    if per_file == 0:
        lines = ['url:'] + [line for i in range(n) for line in entry(i)]
        with open(os.path.join(root, 'gramex.yaml'), 'w') as f:
            f.write('\n'.join(lines).replace('$YAMLPATH/../hit.txt', '$YAMLPATH/hit.txt') + '\n')
        return
    imports = []
    for m in range(max(1, n // per_file)):
        os.makedirs(os.path.join(root, f'mod{m}'), exist_ok=True)
        lines = ['url:'] + [line for i in range(m * per_file, min(n, (m + 1) * per_file))
                            for line in entry(i)]
        with open(os.path.join(root, f'mod{m}', 'gramex.yaml'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
        imports.append(f'  m{m}: mod{m}/gramex.yaml')
    with open(os.path.join(root, 'gramex.yaml'), 'w') as f:
        f.write('\n'.join(['import:'] + imports + ['url:', '  default: null', '  favicon: null']) + '\n')


if __name__ == '__main__':
    main()
