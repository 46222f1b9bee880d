"""mod_gramex reads secrets only as plain data of its own version
(mod_gramex/gx_secrets_abi.h, issue 11 item 5): a mod_gramex_secrets from
another build is refused at startup with both versions named, and nothing
of its answer is read (no crash). The stand-in module is
fake_secrets_abi.c, built here with apxs."""
import re
import subprocess

import pytest
import requests

from gxhttpd import REPO

HEADER = REPO / 'mod_gramex' / 'gx_secrets_abi.h'
OURS = int(re.search(r'#define GX_SECRETS_ABI_VERSION (\d+)', HEADER.read_text()).group(1))


def build_fake(tmp_path, define):
    src = tmp_path / 'mod_fake_secrets.c'
    src.write_text((REPO / 'tests' / 'live' / 'fake_secrets_abi.c').read_text())
    out = subprocess.run(['apxs', '-c', f'-I{REPO}/mod_gramex', f'-D{define}', '-o',
                          'mod_fake_secrets.la', src.name], cwd=tmp_path, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    so = tmp_path / '.libs' / 'mod_fake_secrets.so'
    so.parent.chmod(0o755)
    return so


def with_fake(httpd, app_dir, so):
    app = app_dir({'gramex.yaml': 'url: {}\n', '.secrets.yaml': 'A: b\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"')
    lines = [l for l in h.head.splitlines() if 'gramex_secrets_module' not in l]
    h.head = '\n'.join(lines + [f'LoadModule gramex_secrets_module {so}'])
    h.write(f'GramexConfig "{app}/gramex.yaml"')
    return h, app


@pytest.mark.parametrize('theirs', [OURS + 1, OURS - 1, 999])
def test_other_version_refused(httpd, app_dir, tmp_path, theirs):
    h, app = with_fake(httpd, app_dir, build_fake(tmp_path, f'FAKE_ABI={theirs}'))
    rc, out = h.check()
    assert rc == 1, out
    assert (f'{app}/gramex.yaml: mod_gramex_secrets answers with secrets ABI {theirs} and '
            f'mod_gramex reads secrets ABI {OURS}, so this app\'s secrets cannot be read and '
            'the app is not loaded; install mod_gramex and mod_gramex_secrets from the same '
            'build') in out
    assert 'Syntax OK' not in out


def test_unversioned_provider_refused(httpd, app_dir, tmp_path):
    h, app = with_fake(httpd, app_dir, build_fake(tmp_path, 'FAKE_UNVERSIONED'))
    rc, out = h.check()
    assert rc == 1, out      # the old function is never called: it would abort
    assert (f'{app}/gramex.yaml: mod_gramex_secrets provides only the unversioned interface of '
            f'earlier builds (secrets ABI 0) and mod_gramex needs secrets ABI {OURS}') in out


def test_same_version_loads(httpd, app_dir, tmp_path):
    """The real module, for contrast: same version, the variable arrives."""
    app = app_dir({'gramex.yaml': 'url:\n  x:\n    pattern: /x\n    handler: FileHandler\n'
                                  '    kwargs: {path: $YAMLPATH/a.txt, headers: {X-A: $A}}\n',
                   'a.txt': 'a\n', '.secrets.yaml': 'A: from-secrets\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"')
    h.start()
    r = requests.get(f'{h.url}/x')
    assert r.status_code == 200 and r.text == 'a\n'
    assert r.headers['X-A'] == 'from-secrets'
