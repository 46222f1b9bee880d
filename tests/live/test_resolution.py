"""gramex-config resolves the fixture apps exactly as Gramex 1.94.5 did
(tests/fixtures/resolution/*/expected.json, recorded with gramex-oracle)."""
import json
import subprocess

import pytest

from gxhttpd import BUILD, REPO

FIXTURES = sorted(p.parent for p in (REPO / 'tests/fixtures/resolution').glob('*/expected.json'))


def run(cmd, app):
    out = subprocess.run([str(BUILD / 'gramex-config'), *cmd, str(app / 'gramex.yaml'),
                          '--gramexpath', str(REPO / 'conf')], capture_output=True, text=True,
                         env={'HOME': '/tmp/h', 'PATH': '/usr/bin:/bin'})
    assert out.returncode == 0, out.stderr
    return out.stdout.replace(str(app), '<BASE>'), out.stderr.replace(str(app), '<BASE>')


@pytest.mark.parametrize('app', FIXTURES, ids=[p.name for p in FIXTURES])
def test_matches_gramex(app):
    expected = json.loads((app / 'expected.json').read_text())
    dump, _ = run(['dump'], app)
    warnings = run(['check'], app)[1]
    url = {k: v for k, v in json.loads(dump)['url'].items() if k != 'default'}
    assert url == expected['url']
    assert list(url) == list(expected['url'])          # merged order, too
    routes = json.loads(run(['routes', '--json'], app)[0])
    routes = [r for r in routes if r['name'] != 'default']
    assert [r['name'] for r in routes] == expected['order']
    assert {r['name']: r['regex'] for r in routes} == expected['regex']
    # every url collision Gramex warns about, we warn about too
    for w in expected['warnings']:
        if w.startswith('Duplicate key: url.') and not w.endswith('.kwargs'):
            name = w[len('Duplicate key: url.'):]
            assert f"url '{name}' is defined at" in warnings, name
