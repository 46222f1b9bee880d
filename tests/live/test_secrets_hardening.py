"""Secrets handled like key material (issue 11), the gramex-secrets CLI
(issue 10) and relative file: URLs (issue 9 item 7), with real servers:
an https server (a certificate made here) that redirects, and httpd."""
import hashlib
import os
import subprocess

import pytest
import requests

from gxbackends import BlobServer as Blobs
from gxhttpd import BUILD

CLI = str(BUILD / 'gramex-secrets')
CREDS = ('alice', 'pa55word-xyz', 't0ken-abc123')


def encrypt(text, key='k3y'):
    out = subprocess.run([CLI, 'encrypt', '--key', key], input=text, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def signed(text, key='k3y'):
    out = subprocess.run([CLI, 'encrypt', '--key', key, '--format', 'gramex'], input=text,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def blobs():
    made = []

    def make(text, tls=None):
        b = Blobs(text, tls)
        made.append(b)
        return b

    yield make
    for b in made:
        b.stop()


@pytest.fixture(scope='module')
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp('tls')
    crt, key = d / 'cert.pem', d / 'key.pem'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
                    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
                    '-keyout', str(key), '-out', str(crt)], check=True, capture_output=True)
    return str(crt), str(key)


def decrypt(url, *extra):
    return subprocess.run([CLI, 'decrypt', '--key', 'k3y', url, *extra], capture_output=True,
                          text=True)


# ---- the CLI (issue 10) ---------------------------------------------------------

def test_help_exits_0_on_stdout():
    for flag in ['--help', '-h']:
        out = subprocess.run([CLI, flag], capture_output=True, text=True)
        assert out.returncode == 0
        assert out.stdout.startswith('usage:\n') and 'gramex-secrets export' in out.stdout
        assert out.stderr == ''
    out = subprocess.run([CLI, 'bogus'], capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.startswith('usage:\n')


def test_export_is_private(tmp_path):
    env = dict(os.environ, DB_PASSWORD='hunter2')
    target = tmp_path / 'out.secrets.yaml'
    out = subprocess.run([CLI, 'export', '-o', str(target), 'DB_PASSWORD'], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert target.read_text() == 'DB_PASSWORD: "hunter2"\n'
    assert oct(target.stat().st_mode & 0o777) == '0o600'
    # a shell redirect under a permissive umask: the file is narrowed to 0600
    shelled = tmp_path / '.secrets.yaml'
    shelled.write_text('old\n')
    shelled.chmod(0o644)
    out = subprocess.run(f'umask 022; "{CLI}" export DB_PASSWORD > "{shelled}"', shell=True,
                         env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert shelled.read_text() == 'DB_PASSWORD: "hunter2"\n'
    assert oct(shelled.stat().st_mode & 0o777) == '0o600'


def test_scrypt_cost_can_be_raised(tmp_path):
    out = subprocess.run([CLI, 'encrypt', '--key', 'k3y', '--scrypt', '16,8,1'], input='A: 1\n',
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith('gxs2.16.8.1.')
    f = tmp_path / 'b.txt'
    f.write_text(out.stdout)
    got = decrypt(str(f), '--show')
    assert got.returncode == 0 and got.stdout == 'A: 1\n'
    bad = subprocess.run([CLI, 'encrypt', '--key', 'k', '--scrypt', '30,8,1'], input='A: 1\n',
                         capture_output=True, text=True)
    assert bad.returncode == 2 and '--scrypt 30,8,1' in bad.stderr


# ---- https, redirects, certificates ----------------------------------------------

def test_https_never_downgrades(blobs, cert):
    blob = encrypt('A: 1\n')
    tls = blobs(blob, tls=cert)
    plain = blobs(blob)
    # verified with the given CA; refused without it
    ok = decrypt(f'{tls.url}/blob', '--cacert', cert[0], '--show')
    assert ok.returncode == 0 and ok.stdout == 'A: 1\n', ok.stderr
    unverified = decrypt(f'{tls.url}/blob')
    assert unverified.returncode == 1 and 'certificate' in unverified.stderr.lower()
    # https -> https is followed; https -> http is not
    up = decrypt(f'{tls.url}/to/{tls.url}/blob', '--cacert', cert[0], '--show')
    assert up.returncode == 0 and up.stdout == 'A: 1\n', up.stderr
    hits = plain.hits
    down = decrypt(f'{tls.url}/to/{plain.url}/blob', '--cacert', cert[0])
    assert down.returncode == 1
    assert 'http' in down.stderr.lower() and 'disabled' in down.stderr.lower(), down.stderr
    assert plain.hits == hits
    # http -> http and http -> https are followed
    assert decrypt(f'{plain.url}/to/{plain.url}/blob').returncode == 0
    assert decrypt(f'{plain.url}/to/{tls.url}/blob', '--cacert', cert[0]).returncode == 0


# ---- in httpd ----------------------------------------------------------------------

APP = """
url:
  page:
    pattern: /$YAMLURL/(.*)
    handler: FileHandler
    kwargs:
      path: $YAMLPATH/
      headers:
        X-Remote: $REMOTE_TOKEN
"""


def with_creds(url):
    user, pw, token = CREDS
    scheme, rest = url.split('://')
    return f'{scheme}://{user}:{pw}@{rest}?token={token}#{token}'


def assert_no_creds(*texts):
    for text in texts:
        for c in CREDS:
            assert c not in text


def test_url_credentials_never_shown_on_failure(httpd, app_dir):
    url = with_creds('http://127.0.0.1:9/blob')
    app = app_dir({'gramex.yaml': 'url: {}\n',
                   '.secrets.yaml': f'SECRETS_URL: "{url}"\nSECRETS_KEY: k\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"')
    rc, out = h.check()
    assert rc != 0
    assert 'SECRETS_URL http://***@127.0.0.1:9/blob?***#***: ' in out
    assert 'there is no cached copy at ' in out and '(no cached copy)' not in out
    assert_no_creds(out, h.error_log())


def test_url_credentials_never_shown_when_serving(httpd, app_dir, blobs):
    server = blobs(signed('REMOTE_TOKEN: remote-777\n'))      # signed only: a warning names it
    app = app_dir({'gramex.yaml': APP, 'index.html': 'hi\n',
                   '.secrets.yaml': f'SECRETS_URL: "{with_creds(server.url + "/blob")}"\n'
                                    'SECRETS_KEY: k3y\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\n<Location /gramex-status>\n'
              'SetHandler gramex-status\nRequire all granted\n</Location>')
    rc, out = h.check()
    assert rc == 0, out
    h.start()
    assert requests.get(f'{h.url}/index.html').headers['X-Remote'] == 'remote-777'
    status = requests.get(f'{h.url}/gramex-status').text + \
        requests.get(f'{h.url}/gramex-status?json').text
    log = h.error_log()
    assert f'SECRETS_URL http://***@127.0.0.1:{server.port}/blob?***#*** is only signed' in log
    assert_no_creds(out, log, status)


def test_fetched_once_per_start(httpd, app_dir, blobs):
    """httpd reads its config twice at start: one fetch, not two; a graceful
    restart fetches again, once."""
    server = blobs(encrypt('REMOTE_TOKEN: once\n'))
    app = app_dir({'gramex.yaml': APP, 'index.html': 'hi\n',
                   '.secrets.yaml': f'SECRETS_URL: {server.url}/blob\nSECRETS_KEY: k3y\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"')
    rc, out = h.check()
    assert rc == 0, out
    assert server.hits == 1
    h.start()                   # its own -t, then the start
    assert server.hits == 3
    assert requests.get(f'{h.url}/index.html').headers['X-Remote'] == 'once'
    rc, out = h.graceful()      # its own -t, then the restart
    assert rc == 0, out
    assert server.hits == 5
    assert requests.get(f'{h.url}/index.html').headers['X-Remote'] == 'once'


def test_relative_file_url_is_the_apps(httpd, app_dir):
    """SECRETS_URL: file:remote.txt is opened in the app's directory, as
    Gramex (which runs there) does."""
    app = app_dir({'gramex.yaml': APP, 'index.html': 'hi\n',
                   'remote.txt': '# published\n' + encrypt('REMOTE_TOKEN: from-file\n'),
                   '.secrets.yaml': 'SECRETS_URL: file:remote.txt\nSECRETS_KEY: k3y\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"')
    h.start()
    assert requests.get(f'{h.url}/index.html').headers['X-Remote'] == 'from-file'
    assert 'gramex: error' not in h.error_log().lower()


def test_https_url_with_private_ca(httpd, app_dir, blobs, cert):
    """GramexSecretsCAFile: an https SECRETS_URL verified against a private CA;
    without it the certificate is refused (and the load fails closed)."""
    server = blobs(encrypt('REMOTE_TOKEN: over-tls\n'), tls=cert)
    app = app_dir({'gramex.yaml': APP, 'index.html': 'hi\n',
                   '.secrets.yaml': f'SECRETS_URL: {server.url}/blob\nSECRETS_KEY: k3y\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"')
    rc, out = h.check()
    assert rc != 0 and 'certificate' in out.lower(), out
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\nGramexSecretsCAFile "{cert[0]}"')
    h.start()
    assert requests.get(f'{h.url}/index.html').headers['X-Remote'] == 'over-tls'


STATUS = '<Location /gramex-status>\nSetHandler gramex-status\nRequire all granted\n</Location>'


def cache_name(app):
    return hashlib.sha256(f'{app}/.secrets.yaml'.encode()).hexdigest()[:32] + '.secrets.cache'


def url_app(app_dir, server):
    return app_dir({'gramex.yaml': APP, 'index.html': 'hi\n',
                    '.secrets.yaml': f'SECRETS_URL: {server.url}/blob\nSECRETS_KEY: k3y\n'})


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to own the app dir as another user')
def test_cache_in_runtime_dir_whoever_owns_the_app(httpd, app_dir, blobs):
    """Apache runs as root: the cache goes to DefaultRuntimeDir/gramex-secrets
    (made root's, 0711: www-data may stat, not list), never into the app
    directory its owner controls; the status page names it; after the URL
    goes, a restart uses it."""
    server = blobs(encrypt('REMOTE_TOKEN: fresh\n'))
    app = url_app(app_dir, server)
    os.chown(app, 65534, 65534)
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\n' + STATUS)
    h.start()
    state = h.dir / 'gramex-secrets'
    assert state.stat().st_uid == 0 and oct(state.stat().st_mode & 0o777) == '0o711'
    assert [c.name for c in state.iterdir()] == [cache_name(app)]
    assert sorted(p.name for p in app.iterdir()) == ['.secrets.yaml', 'gramex.yaml', 'index.html']
    assert 'not writing the secrets cache' not in h.error_log()
    assert requests.get(f'{h.url}/index.html').headers['X-Remote'] == 'fresh'
    secrets = requests.get(f'{h.url}/gramex-status?json').json()['apps'][0]['secrets']
    assert secrets['cache'] == str(state / cache_name(app)) and secrets['cache_present'] is True
    server.stop()
    rc, out = h.graceful()
    assert rc == 0, out
    assert requests.get(f'{h.url}/index.html').headers['X-Remote'] == 'fresh'
    assert f'using the last good copy from {state / cache_name(app)}' in h.error_log()


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to own the cache dir as another user')
def test_cache_dir_of_another_user_gets_no_cache(httpd, app_dir, blobs, tmp_path):
    """GramexSecretsCacheDir owned by another user: not written into (it
    could swap the file for a link); the status page does not claim a copy."""
    server = blobs(encrypt('REMOTE_TOKEN: fresh\n'))
    app = url_app(app_dir, server)
    theirs = tmp_path / 'theirs'
    theirs.mkdir()
    os.chown(theirs, 65534, 65534)
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\nGramexSecretsCacheDir "{theirs}"\n' + STATUS)
    h.start()
    assert f'not writing the secrets cache {theirs}/{cache_name(app)} ({theirs} belongs to ' \
           'another user (uid 65534), who could redirect a write made as root; set ' \
           'GramexSecretsCacheDir (or GramexSecretsCache) to a directory only root can write, ' \
           'e.g. /var/cache/apache2/gramex-secrets); a later failure to fetch' in h.error_log()
    assert list(theirs.iterdir()) == []
    assert requests.get(f'{h.url}/index.html').headers['X-Remote'] == 'fresh'
    secrets = requests.get(f'{h.url}/gramex-status?json').json()['apps'][0]['secrets']
    assert secrets['cache'] == f'{theirs}/{cache_name(app)}'
    assert secrets['cache_present'] is False and secrets['note'] is None


def test_cache_dir_made_private_when_missing(httpd, app_dir, blobs, tmp_path):
    """GramexSecretsCacheDir (relative to ServerRoot) is made 0711 when missing."""
    server = blobs(encrypt('REMOTE_TOKEN: fresh\n'))
    app = url_app(app_dir, server)
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\nGramexSecretsCacheDir state-here\n')
    h.start()
    made = h.dir / 'state-here'
    assert oct(made.stat().st_mode & 0o777) == '0o711' and made.stat().st_uid == os.geteuid()
    cache = made / cache_name(app)
    assert oct(cache.stat().st_mode & 0o777) == '0o600'
    assert cache.read_text().startswith('gxs2.') and 'fresh' not in cache.read_text()
    assert not (h.dir / 'gramex-secrets').exists()
