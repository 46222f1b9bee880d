#!/usr/bin/python3
"""Gramex direct vs through Apache (section 5 of bench/RESULTS.md), printed as markdown.

One app, served by real Gramex (GRAMEX_SRC, via the gramex-oracle's gramex_serve.py) and by
Apache with our module and GramexUpstream pointing at that same Gramex. Static files are
Apache's own; a FunctionHandler url is proxied to Gramex. One client (wrk -c1), median
latency of interleaved rounds. Targets (issue 9): static through Apache faster than Gramex
direct; proxied within 1.1x of Gramex direct. Without GRAMEX_SRC it prints why it skipped.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / 'tests' / 'gramex'))
from bench import REPO, Apache, free_port, world_readable_tmp  # noqa: E402
import compare  # noqa: E402

FILES = [('page.html', 1024), ('app.js', 100 * 1024), ('image.png', 2 * 1024 * 1024)]


def make_app():
    app = world_readable_tmp('gxbench-gramex-')
    static = app / 'static'
    static.mkdir()
    static.chmod(0o755)
    contents = {'page.html': b'<!doctype html><title>x</title>' + b'x' * (1024 - 31),
                'app.js': b'var a=1;\n' * (100 * 1024 // 9),
                'image.png': os.urandom(2 * 1024 * 1024)}
    for name, _ in FILES:
        (static / name).write_bytes(contents[name])
        (static / name).chmod(0o644)
    (app / 'gramex.yaml').write_text(
        'url:\n'
        '  static:\n'
        '    pattern: /$YAMLURL/static/(.*)\n'
        '    handler: FileHandler\n'
        '    kwargs:\n'
        '      path: $YAMLPATH/static/\n'
        '  api:\n'
        '    pattern: /$YAMLURL/api\n'
        '    handler: FunctionHandler\n'
        '    kwargs:\n'
        '      function: "json.dumps({\'x\': 1})"\n'
        '      headers:\n'
        '        Content-Type: application/json\n')
    (app / 'gramex.yaml').chmod(0o644)
    return app


def wrk_median(url, seconds):
    """(median latency ms, req/s) for one client."""
    out = subprocess.run(['wrk', '-t1', '-c1', f'-d{seconds}s', '--latency', url],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    if re.search(r'Non-2xx or 3xx responses:\s+(\d+)', out):
        raise RuntimeError(f'{url}: error responses during the run:\n{out}')
    m = re.search(r'50%\s+([\d.]+)(us|ms|s)\b', out)
    scale = {'us': 0.001, 'ms': 1.0, 's': 1000.0}[m.group(2)]
    rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
    return float(m.group(1)) * scale, rps


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--seconds', type=int, default=3)
    ap.add_argument('--rounds', type=int, default=3)
    a = ap.parse_args()
    out = ['## 5. Gramex direct vs through Apache\n']
    src = os.environ.get('GRAMEX_SRC')
    oracle = compare.first_dir(compare.ORACLE_PLACES, 'gramex_serve.py')
    if not src or not (Path(src) / 'gramex').is_dir() or not oracle:
        out.append('Skipped: set GRAMEX_SRC to a clone of gramener/gramex (and have the '
                   'gramex-oracle tools) to compare with real Gramex.\n')
        print('\n'.join(out))
        return 0
    app = make_app()
    home = world_readable_tmp('gxbench-gramex-home-')
    gport = free_port()
    gproc = None
    apache = Apache('mod_gramex', f'GramexPath {REPO}/conf\n'
                    f'GramexUpstream http://127.0.0.1:{gport}\n'
                    f'GramexConfig {app}/gramex.yaml', gramex=True)
    try:
        with open(home / 'gramex.log', 'w') as log:
            gproc = compare.start_gramex(oracle, Path(src).resolve(), app, gport, home, log)
        apache.start()
        paths = [(f'static {n} ({s // 1024} KiB)', f'/static/{n}') for n, s in FILES]
        paths.append(('proxied FunctionHandler (Apache -> Gramex)', '/api'))
        out.append(f'One app under real Gramex 1.94.5 (tornado, one process) and under Apache with '
                   f'`GramexUpstream` pointing at that Gramex: static files are Apache\'s own, '
                   f'`/api` is proxied. One client (`wrk -c1`), medians of {a.rounds} interleaved '
                   f'rounds of {a.seconds} s. Targets: static through Apache faster than direct; '
                   'proxied within 1.1x of direct.\n')
        out.append('| request | Gramex direct median ms | through Apache median ms | '
                   'Apache/direct latency | Gramex req/s | Apache req/s |')
        out.append('|---|---|---|---|---|---|')
        for label, path in paths:
            runs = {'direct': [], 'apache': []}
            for _ in range(a.rounds):
                runs['direct'].append(wrk_median(f'http://127.0.0.1:{gport}{path}', a.seconds))
                runs['apache'].append(wrk_median(f'http://127.0.0.1:{apache.port}{path}',
                                                 a.seconds))
            d = [statistics.median(x[i] for x in runs['direct']) for i in (0, 1)]
            g = [statistics.median(x[i] for x in runs['apache']) for i in (0, 1)]
            out.append(f'| {label} | {d[0]:.3f} | {g[0]:.3f} | {g[0] / d[0]:.3f} | '
                       f'{d[1]:.0f} | {g[1]:.0f} |')
            print(out[-1], file=sys.stderr, flush=True)
        out.append('')
    finally:
        apache.stop()
        compare.stop(gproc)
        shutil.rmtree(app, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    print('\n'.join(out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
