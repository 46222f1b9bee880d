"""An `error:` page Apache serves itself is sent with the Content-Type Gramex
gives it (gramex/handlers/basehandler.py, setup_error): Python's
mimetypes.guess_type(path, strict=False) (its own table, the system's
mime.types, then gramex.yaml's mime:), with no charset; Tornado's default
`text/html; charset=UTF-8` without a guess; the page's own `headers:` last,
overriding the type, setting and removing headers. As Gramex 1.94.5 answers
(gramex_serve.py on this app). Templates and `function:` pages need Gramex:
with GramexUpstream a missing file's 404 goes to Gramex, which renders its
page; without one Apache sends its own page."""
import pytest
import requests

from gxbackends import CannedBackend
from gxclients import raw_request

KINDS = {
    # suffix: Content-Type
    'html': 'text/html', 'HTM': 'text/html', 'txt': 'text/plain', 'json': 'application/json',
    'css': 'text/css', 'csv': 'text/csv', 'svg': 'image/svg+xml',
    'md': 'text/markdown', 'yaml': 'text/yaml',                 # Gramex's mime:
    'html.gz': 'text/html',                                     # an encoding, then the type
    'qqq': 'text/html; charset=UTF-8',                          # no guess: Tornado's default
}


def url(name, page, extra=''):
    return (f'  {name}:\n    pattern: /$YAMLURL/{name}/(.*)\n    handler: FileHandler\n'
            f'    kwargs:\n      path: $YAMLPATH/static/\n      error:\n'
            f'        404: {{path: $YAMLPATH/{page}{extra}}}\n')


def app_files():
    yaml = ('handlers:\n  BaseHandler:\n    headers: {X-Base: kept, X-Gone: base}\nurl:\n'
            + ''.join(url(f'k{i}', f'404.{s}') for i, s in enumerate(KINDS))
            + url('bare', 'notfound')
            + url('own', '404.html', ', headers: {Content-Type: text/plain; charset=latin-1, '
                  'X-Page: one, X-Gone: false}')
            + url('tmpl', 'tmpl.html')
            + '  fn:\n    pattern: /$YAMLURL/fn/(.*)\n    handler: FileHandler\n'
              "    kwargs: {path: $YAMLPATH/static/, error: {404: {function: \"'fn page'\"}}}\n")
    files = {'gramex.yaml': yaml, 'static/a.txt': 'a\n', 'notfound': 'bare page\n',
             'tmpl.html': '<p>{{ status_code }}</p>\n'}
    files.update({f'404.{s}': f'page {s}\n' for s in KINDS})
    return files


@pytest.fixture
def served(httpd, app_dir):
    return httpd(f'GramexConfig "{app_dir(app_files())}/gramex.yaml"').start()


def test_a_page_has_gramexs_type(served):
    for i, (suffix, ctype) in enumerate(KINDS.items()):
        r = requests.get(f'{served.url}/k{i}/missing')
        assert (r.status_code, r.headers['Content-Type'], r.text) == (404, ctype, f'page {suffix}\n')
        assert (r.headers['X-Base'], r.headers['X-Gone']) == ('kept', 'base')
    r = requests.get(f'{served.url}/bare/missing')
    assert (r.status_code, r.headers['Content-Type'], r.text) == (
        404, 'text/html; charset=UTF-8', 'bare page\n')


def test_the_pages_headers_come_last(served):
    r = requests.get(f'{served.url}/own/missing')
    assert (r.status_code, r.headers['Content-Type'], r.text) == (
        404, 'text/plain; charset=latin-1', 'page html\n')
    assert (r.headers['X-Page'], r.headers['X-Base']) == ('one', 'kept')
    assert 'X-Gone' not in r.headers


def test_pages_only_gramex_can_render(served):
    """Without GramexUpstream, not Gramex's answer (it renders them): Apache's
    own 404 page."""
    for name in ['tmpl', 'fn']:
        r = requests.get(f'{served.url}/{name}/missing')
        assert (r.status_code, r.headers['Content-Type']) == (404, 'text/html; charset=iso-8859-1')
        assert '<title>404 Not Found</title>' in r.text


def test_gramex_renders_them_with_an_upstream(httpd, app_dir):
    """With GramexUpstream, a missing file under a url whose 404 page is a
    template or a function: goes to Gramex, which renders its page; the
    admin's denial still holds first, and files that exist are Apache's."""
    gramex = CannedBackend(b'HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n'
                           b'Content-Length: 16\r\nConnection: close\r\n\r\n<p>404 page</p>\n')
    try:
        app = app_dir(dict(app_files(), **{'static/private/x.txt': 'x\n'}))
        h = httpd(f'GramexConfig "{app}/gramex.yaml"\nGramexUpstream {gramex.url}\n'
                  f'<Directory "{app}/static/private">\n  Require all denied\n</Directory>\n').start()
        for name in ['tmpl', 'fn']:
            r = requests.get(f'{h.url}/{name}/missing')
            assert (r.status_code, r.headers['Content-Type'], r.text) == (404, 'text/html', '<p>404 page</p>\n')
        assert [gramex.header_lines(i)[0] for i in range(len(gramex.requests))] == [
            b'GET /tmpl/missing HTTP/1.1', b'GET /fn/missing HTTP/1.1']
        r = raw_request(h.port, '/tmpl/private/missing')
        assert r.status == 403
        r = requests.get(f'{h.url}/tmpl/a.txt')
        assert (r.status_code, r.text) == (200, 'a\n')
        r = requests.get(f'{h.url}/k0/missing')          # a plain page: Apache's, as before
        assert (r.status_code, r.text) == (404, 'page html\n')
        assert len(gramex.requests) == 2
    finally:
        gramex.stop()
