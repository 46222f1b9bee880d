"""FileHandler routes through a real httpd: what is served, with which
headers, and what is refused (spec f.1-f.8, deploy.yaml h.2)."""
import gzip
import os

import pytest
import requests

from gxclients import listing, raw_request
from gxhttpd import readable_tmpdir, serving, write_tree

APP = {
    'gramex.yaml': """
import: $GRAMEXPATH/deploy.yaml
url:
  static:
    pattern: /$YAMLURL/static/(.*)
    handler: FileHandler
    kwargs:
      path: $YAMLPATH/static/
      default_filename: index.html
      headers:
        X-App: one
        Cache-Control: no-store
        "*.js":
          Cache-Control: public, max-age=3600
      error:
        404: {path: $YAMLPATH/404.html}
  listing:
    pattern: /$YAMLURL/list/(.*)
    handler: FileHandler
    kwargs: {path: $YAMLPATH/static/, index: true}
  one-file:
    pattern: /$YAMLURL/about
    handler: FileHandler
    kwargs: {path: $YAMLPATH/static/page.html}
  star:
    pattern: /$YAMLURL/docs/(.*)
    handler: FileHandler
    kwargs: {path: $YAMLPATH/static/*.html}
  mapped:
    pattern: /$YAMLURL/node/((foo|bar)/.*)
    handler: FileHandler
    kwargs:
      path:
        "foo/(.*)": $YAMLPATH/static/{0}.html
        "bar/(?P<file>.*)": $YAMLPATH/static/sub/{file}.html
  python:
    pattern: /$YAMLURL/fn
    handler: FunctionHandler
    kwargs: {function: "'hi'"}
  private:
    pattern: /$YAMLURL/private/(.*)
    handler: FileHandler
    kwargs: {path: $YAMLPATH/static/, auth: true}
  only-get:
    pattern: /$YAMLURL/getonly
    handler: FileHandler
    kwargs: {path: $YAMLPATH/static/page.html, methods: [GET]}
  jump:
    pattern: /$YAMLURL/old/(.*)
    handler: tornado.web.RedirectHandler
    kwargs: {url: "/static/{0}", permanent: false}
""",
    'static/page.html': '<p>page</p>\n' * 100,
    'static/app.js': 'var x = 1;\n',
    'static/index.html': '<h1>index</h1>\n',
    'static/sub/index.html': '<h1>sub</h1>\n',
    'static/sub/y.html': '<h1>y</h1>\n',
    'static/data.csv': 'a,b\n1,2\n',
    'static/secret.yaml': 'password: hunter2\n',
    'static/notes.py': 'print(1)\n',
    'static/.env': 'TOKEN=abc\n',
    'static/.git/config': '[core]\n',
    'static/gramex.yaml': 'url: {}\n',
    'static/<b>.html': 'x\n',
    'static/package.json': '{}\n',
    'outside.html': '<p>outside</p>\n',
    '404.html': '<h1>custom not found</h1>\n',
}


@pytest.fixture(scope='module')
def served():
    app = write_tree(readable_tmpdir('gxtest-files-'), APP)
    os.symlink(app / 'outside.html', app / 'static' / 'link.html')
    os.symlink('/etc', app / 'static' / 'etc')
    with serving(f'GramexConfig "{app}/gramex.yaml"', app) as h:
        yield h, app


def test_allowed_file_with_headers(served):
    h, _ = served
    r = requests.get(f'{h.url}/static/page.html')
    assert r.status_code == 200
    assert r.text == '<p>page</p>\n' * 100
    assert r.headers['Content-Type'] == 'text/html; charset=UTF-8'
    assert r.headers['X-App'] == 'one'
    assert r.headers['Cache-Control'] == 'no-store'
    # deploy.yaml's security headers, and Server: false means no banner
    assert r.headers['X-Content-Type-Options'] == 'nosniff'
    assert r.headers['X-Frame-Options'] == 'SAMEORIGIN'
    assert r.headers['X-XSS-Protection'] == '1; mode=block'
    assert 'Server' not in r.headers
    assert 'ETag' in r.headers and 'Last-Modified' in r.headers


def test_per_file_header_pattern(served):
    h, _ = served
    r = requests.get(f'{h.url}/static/app.js')
    assert r.status_code == 200 and r.text == 'var x = 1;\n'
    assert r.headers['Cache-Control'] == 'public, max-age=3600'
    assert r.headers['X-App'] == 'one'


def test_core_static_features(served):
    h, _ = served
    url = f'{h.url}/static/page.html'
    first = requests.get(url)
    assert requests.get(url, headers={'If-None-Match': first.headers['ETag']}).status_code == 304
    r = requests.get(url, headers={'Range': 'bytes=0-9', 'Accept-Encoding': 'identity'})
    assert r.status_code == 206 and r.content == b'<p>page</p'[:10]
    head = requests.head(url)
    assert head.status_code == 200 and head.text == ''
    assert head.headers['Content-Length'] == first.headers['Content-Length']


def test_gzip_where_gramex_compresses(served):
    h, _ = served
    r = requests.get(f'{h.url}/static/page.html', headers={'Accept-Encoding': 'gzip'}, stream=True)
    assert r.headers.get('Content-Encoding') == 'gzip'
    assert gzip.decompress(r.raw.read()) == ('<p>page</p>\n' * 100).encode()


@pytest.mark.parametrize('path', [
    '/static/secret.yaml', '/static/notes.py', '/static/.env', '/static/.git/config',
    '/static/gramex.yaml', '/static/data.csv', '/gramex.yaml', '/static/link.html',
    '/static/etc/passwd',
])
def test_denied_files(served, path):
    h, _ = served
    r = requests.get(h.url + path)
    assert r.status_code == 403, path
    for secret in ['hunter2', 'TOKEN=abc', '[core]', 'print(1)', 'outside', 'root:']:
        assert secret not in r.text


@pytest.mark.parametrize('target', [
    '/static/../gramex.yaml', '/static/%2e%2e/gramex.yaml', '/static/%2E%2E/gramex.yaml', '/static/%2E%2E/%2E%2E/%2E%2E/etc/passwd',
    '/static/..%2fgramex.yaml', '/static/..%2Foutside.html', '/static/%2e%2e%2fgramex.yaml',
    '/static/..\\gramex.yaml', '/static/..%5cgramex.yaml', '/static/secret.yaml%00.html',
    '/static/page.html%00', '/static/secret.yaml.', '/static/secret.yaml%20',
    '/static/secret.yaml::$DATA', '/static/.%65nv', '/static//etc/passwd',
    '/static/%252e%252e/gramex.yaml', '/static/./../../etc/passwd', '/docs/..%2f..%2fgramex',
    '/node/foo/..%2f..%2f..%2fgramex', '/static/sub/..%2f..%2f..%2fetc%2fpasswd',
])
def test_traversal_vectors(served, target):
    h, _ = served
    r = raw_request(h.port, target)
    assert r.status in (400, 403, 404), (target, r.status, r.body[:200])
    for secret in [b'hunter2', b'TOKEN=abc', b'outside', b'root:', b'url: {}', b'import:']:
        assert secret not in r.raw and secret not in r.body, target


def test_directory_rules(served):
    h, _ = served
    r = requests.get(f'{h.url}/static/sub', allow_redirects=False)
    assert r.status_code == 301
    assert r.headers['Location'] == '/static/sub/'
    # X-Request-URI never steers the redirect (Gramex's open redirect, f.3)
    r = requests.get(f'{h.url}/static/sub?x=1', allow_redirects=False,
                     headers={'X-Request-URI': '//evil.example/p'})
    assert r.headers['Location'] == '/static/sub/?x=1'
    assert requests.get(f'{h.url}/static/sub/').text == '<h1>sub</h1>\n'
    assert requests.get(f'{h.url}/static/').text == '<h1>index</h1>\n'


def test_listing_shows_only_servable_names(served):
    h, _ = served
    r = requests.get(f'{h.url}/list/')
    assert r.status_code == 200
    # exactly the servable names, sorted, each escaped in its link and its text
    assert listing(r.text) == [
        ('./%3cb%3e.html', '&lt;b&gt;.html'), ('./app.js', 'app.js'),
        ('./index.html', 'index.html'), ('./package.json', 'package.json'),
        ('./page.html', 'page.html'), ('./sub/', 'sub/')]
    for hidden in ['.env', 'secret.yaml', 'notes.py', 'gramex.yaml', 'data.csv', '.git']:
        assert hidden not in r.text
    assert '<b>.html' not in r.text and '&lt;b&gt;.html' in r.text
    assert str(served[1]) not in r.text     # no filesystem path


def test_path_forms(served):
    h, _ = served
    page = APP['static/page.html']
    assert requests.get(f'{h.url}/about').text == page
    assert requests.get(f'{h.url}/docs/page').text == page
    assert requests.get(f'{h.url}/node/foo/page').text == page
    assert requests.get(f'{h.url}/node/bar/y').text == '<h1>y</h1>\n'
    assert requests.get(f'{h.url}/node/baz/y').status_code == 404


def test_custom_error_page(served):
    h, _ = served
    r = requests.get(f'{h.url}/static/missing.html')
    assert r.status_code == 404
    assert r.text == APP['404.html']
    assert r.headers['X-Content-Type-Options'] == 'nosniff'   # base headers on errors too
    assert 'X-App' not in r.headers                             # url headers only on success


def test_python_and_auth_routes_answer_503(served):
    h, _ = served
    r = requests.get(f'{h.url}/fn')
    assert r.status_code == 503
    assert r.headers['Content-Type'] == 'text/plain; charset=UTF-8'
    assert r.text == ('503 Service Unavailable: python needs a Gramex process behind Apache '
                      '(GramexUpstream is not set).\n')
    # auth: on a FileHandler: the file exists but is never served from disk
    r = requests.get(f'{h.url}/private/page.html')
    assert r.status_code == 503 and r.text == (
        '503 Service Unavailable: private needs a Gramex process behind Apache '
        '(GramexUpstream is not set).\n')
    log = h.error_log()
    assert 'url python (FunctionHandler)' in log and 'url private (FileHandler)' in log


def test_methods_and_redirects(served):
    h, _ = served
    r = requests.get(f'{h.url}/getonly')
    assert (r.status_code, r.text) == (200, APP['static/page.html'])
    r = requests.delete(f'{h.url}/getonly', headers={'X-Requested-With': 'XMLHttpRequest'})
    assert r.status_code == 405         # AJAX: past Gramex's XSRF check (test_method_refused)
    assert sorted(r.headers['Allow'].split(',')) == ['GET', 'HEAD', 'TRACE']   # in any order
    r = requests.get(f'{h.url}/old/page.html?q=1', allow_redirects=False)
    assert r.status_code == 302
    assert r.headers['Location'] == '/static/page.html?q=1'


def test_unmatched_urls_fall_through(served):
    h, _ = served
    # deploy.yaml keeps the base `default` route, which serves the run directory:
    # but only deploy.yaml's extensions, and never config or dotfiles
    for name in ['outside.html', '404.html']:
        r = requests.get(f'{h.url}/{name}')
        assert (r.status_code, r.text) == (200, APP[name])
    assert requests.get(f'{h.url}/gramex.yaml').status_code == 403
