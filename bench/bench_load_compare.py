"""`apache2 -t` time and child RSS over an empty Apache, for two builds of
mod_gramex, interleaved on the same 10,000-route app (bench.py's section 3,
as a before/after in one run).

    make BUILD=/tmp/before /tmp/before/mod_gramex.so     # in a checkout of the old commit
    /usr/bin/python3 bench/bench_load_compare.py /tmp/before build [--rounds 3]
"""
import argparse
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import bench


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('builds', nargs='+', help='directories holding mod_gramex.so')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--routes', type=int, default=10000)
    args = ap.parse_args()
    app, last = bench.make_routes_app(args.routes, per_file=max(1, args.routes // 1000))
    res = {b: {'t': [], 'rss': []} for b in args.builds}
    try:
        for _ in range(args.rounds):
            for b in args.builds:
                bench.BUILD = Path(b).resolve()
                g = bench.Apache('cmp', f'GramexPath {bench.REPO}/conf\n'
                                 f'GramexConfig {app}/gramex.yaml', gramex=True)
                e = bench.Apache('empty', '')
                try:
                    res[b]['t'].append(g.config_test()[0])
                    g.start()
                    e.start()
                    for _ in range(20):     # every child has served, as in bench.py
                        subprocess.run(['curl', '-s', '-o', '/dev/null',
                                        f'http://127.0.0.1:{g.port}{last}'])
                    time.sleep(0.5)
                    gr = max(bench.rss_kb(k) for k in g.pids()[1])
                    er = max(bench.rss_kb(k) for k in e.pids()[1])
                    res[b]['rss'].append((gr - er) / 1024)
                finally:
                    g.stop()
                    e.stop()
    finally:
        shutil.rmtree(app, ignore_errors=True)
    print('| build | apache2 -t median | child RSS over empty, median |')
    print('|---|---|---|')
    for b in args.builds:
        print(f"| {b} | {statistics.median(res[b]['t']):.3f} s | "
              f"{statistics.median(res[b]['rss']):.1f} MB |")


if __name__ == '__main__':
    main()
