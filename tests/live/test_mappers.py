"""Issue 8, item 6: other URL mappers. The admin's explicit config wins over
the app's routes, and the app's routes see the URI after the admin's
rewrites: mod_alias Redirect/RedirectMatch/ScriptAlias, mod_rewrite [PT], [P],
[R], mod_dir DirectoryIndex, and subrequests (mod_include, RewriteCond -U,
DirectoryIndex naming a url). Subrequests must go through the app's routes:
a subrequest for a guarded url never reads the guarded file from disk.

The app is tests/fixtures/access/guarded-app (Python url /admin/, auth: url
/members/, catch-all) with GramexUpstream pointing at tests/live/backend.py,
which echoes the path it received as JSON. The admin made the app directory
the DocumentRoot and granted it, as a site serving one app typically does."""
import json
import shutil

import pytest

from access_util import SECRETS, guarded_app_copy
from gxbackends import Backend
from gxclients import raw_request
from gxhttpd import readable_tmpdir, serving, write_tree

CGI = '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nGX-CGI-OUTPUT\\n"\n'
SHTML = ('A:<!--#include virtual="/public.txt" -->'
         'B:<!--#include virtual="/admin/secret.txt" -->'
         'C:<!--#include virtual="/members/secret.txt" -->'
         'D:<!--#include virtual="/%61dmin/secret.txt" -->E\n')
# file= subrequests name a file relative to the page, not a url: they must not
# read what the guarded urls cover either
FILE_SHTML = ('A:<!--#include file="public.txt" -->'
              'B:<!--#include file="admin/secret.txt" -->'
              'C:<!--#include file="members/secret.txt" -->E\n')


# raw_request sends Host: 127.0.0.1, which httpd's redirects name
HOST = 'http://127.0.0.1'
NO_UPSTREAM = ('503 Service Unavailable: {} needs a Gramex process behind Apache '
               '(GramexUpstream is not set).\n')


def admin_conf(app, cgi_dir, backend):
    return f"""
DocumentRoot "{app}"
<Directory "{app}">
  Require all granted
</Directory>
<Directory "{app}/private">
  Require all denied
</Directory>
Redirect /old-page /public.txt
Redirect /admin/moved /public.txt
RedirectMatch ^/gone/(.*)$ /public.txt?from=$1
ScriptAlias /cgi-bin/ "{cgi_dir}/"
<Directory "{cgi_dir}">
  Require all granted
</Directory>
RewriteEngine On
RewriteRule ^/nice$ /public.txt [PT]
RewriteRule ^/pretty/(.*)$ /admin/$1 [PT]
RewriteRule ^/sneaky$ /private/x.txt [PT]
RewriteRule ^/moved$ /public.txt [R=301,L]
RewriteRule ^/members/old/(.*)$ /public.txt [R=302,L]
RewriteRule ^/via-proxy/(.*)$ {backend.url}/proxied/$1 [P]
RewriteCond $1 -U
RewriteRule ^/probe(/.*)$ /public.txt [R=302,L]
<Directory "{app}/docs">
  DirectoryIndex start.html
</Directory>
<Directory "{app}/legacy">
  # mod_rewrite needs a symlink option in directory context; the app's grant
  # turns symlinks off (docs/decisions.md), so the admin turns one back on
  Options +SymLinksIfOwnerMatch
  RewriteEngine On
  RewriteRule ^old\\.txt$ /public.txt [R=302,L]
</Directory>
<Directory "{app}/idx">
  DirectoryIndex /admin/secret.txt
</Directory>
Options +Includes
AddOutputFilter INCLUDES .shtml
"""


@pytest.fixture(scope='module')
def site():
    backend = Backend('gramex')
    app = guarded_app_copy()
    write_tree(app, {'docs/start.html': 'start page\n', 'docs/index.html': 'index page\n',
                     'idx/readme.txt': 'index by url\n', 'page.shtml': SHTML,
                     'file.shtml': FILE_SHTML,
                     'private/x.txt': 'GX-PRIVATE-X\n', 'legacy/old.txt': 'old\n'})
    cgi_dir = readable_tmpdir('gxtest-cgi-')
    write_tree(cgi_dir, {'hello.cgi': CGI})
    (cgi_dir / 'hello.cgi').chmod(0o755)
    try:
        with serving(f'GramexConfig "{app}/gramex.yaml"\nGramexUpstream {backend.url}\n'
                     + admin_conf(app, cgi_dir, backend), app.parent, cgi_dir,
                     extra_modules=['alias', 'rewrite', 'dir', 'include', 'cgid']) as h:
            yield h, backend
    finally:
        backend.stop()


def get(h, target):
    r = raw_request(h.port, target)
    assert r.leaks(SECRETS) == [], (target, r.status, r.leaks(SECRETS))
    return r


def answer(site, target):
    """(status, body) of site's answer to target."""
    r = get(site[0], target)
    return r.status, r.body


def redirect(site, target):
    """(status, Location) of site's answer to target."""
    r = get(site[0], target)
    return r.status, r.headers.get('location')


def test_upstream_and_catch_all_answer(site):
    """Control: the app's routes work here without any admin mapping."""
    h, _ = site
    r = get(h, '/admin/x')
    assert r.status == 200 and json.loads(r.body)['path'] == '/admin/x'
    r = get(h, '/public.txt')
    assert r.status == 200 and r.body == b'public file\n'


def test_alias_redirect(site):
    assert redirect(site, '/old-page') == (302, HOST + '/public.txt')


def test_alias_redirect_over_a_guarded_url(site):
    assert redirect(site, '/admin/moved') == (302, HOST + '/public.txt')


def test_alias_redirect_match(site):
    assert redirect(site, '/gone/abc') == (302, HOST + '/public.txt?from=abc')


def test_script_alias(site):
    assert answer(site, '/cgi-bin/hello.cgi') == (200, b'GX-CGI-OUTPUT\n')


def test_rewrite_pass_through_to_a_file(site):
    assert answer(site, '/nice') == (200, b'public file\n')


def test_rewrite_pass_through_to_a_guarded_url(site):
    """[PT] onto /admin/: the Python url answers, with the rewritten path."""
    h, _ = site
    r = get(h, '/pretty/secret.txt')
    assert r.status == 200, (r.status, r.body[:200])
    assert json.loads(r.body)['path'] == '/admin/secret.txt'


def test_rewrite_pass_through_keeps_the_admins_denial(site):
    """[PT] onto a file in a directory the admin denied: still 403."""
    h, _ = site
    r = get(h, '/sneaky')
    assert r.status == 403 and b'GX-PRIVATE-X' not in r.raw, r.status


def test_rewrite_in_directory_context(site):
    """Per-directory RewriteRules run for app files (core's directory walk)."""
    assert redirect(site, '/legacy/old.txt') == (302, HOST + '/public.txt')


def test_rewrite_redirect(site):
    assert redirect(site, '/moved') == (301, HOST + '/public.txt')
    assert redirect(site, '/members/old/x') == (302, HOST + '/public.txt')


def test_rewrite_proxy(site):
    h, backend = site
    r = get(h, '/via-proxy/abc')
    assert r.status == 200 and r.headers.get('x-backend') == 'gramex', r.status
    assert json.loads(r.body)['path'] == '/proxied/abc'


def test_directory_index_set_by_the_admin(site):
    """An app url's directory answers with its default_filename (the url
    decides: docs/decisions.md); the admin's DirectoryIndex does not apply."""
    assert answer(site, '/docs/') == (200, b'index page\n')


def test_directory_index_naming_a_guarded_url_never_reads_it(site):
    """mod_dir's subrequest for /admin/secret.txt goes to the Python url."""
    h, _ = site
    r = get(h, '/idx/')
    # the subrequest finds no file, so mod_dir has no index to serve
    assert r.status == 404, (r.status, r.body[:200])


def test_include_subrequests_go_through_the_routes(site):
    h, _ = site
    r = get(h, '/page.shtml')
    assert r.status == 200, r.status
    body = r.body.decode()
    assert body.startswith('A:public file\nB:') and body.endswith('E\n'), body  # includes ran
    # B and C went to the upstream: the backend's JSON with the path it got
    b = body[len('A:public file\nB:'):body.index('C:')]
    c = body[body.index('C:') + 2:body.index('D:')]
    d = body[body.index('D:') + 2:-len('E\n')]
    assert json.loads(b)['path'] == '/admin/secret.txt', body
    assert json.loads(c)['path'] == '/members/secret.txt', body
    assert json.loads(d)['path'] == '/admin/secret.txt', body


@pytest.mark.parametrize('target, redirected', [
    ('/probe/public.txt', True),                    # lookahead reaches the catch-all
    ('/probe/admin/secret.txt', True),              # lookahead reaches the upstream
    ('/probe/members/secret.txt', True),
    ('/probe/private/x.txt', False),                # the admin's <Directory> denial
])
def test_rewrite_lookahead_sees_the_routes(site, target, redirected):
    assert redirect(site, target) == ((302, HOST + '/public.txt') if redirected else (404, None))


@pytest.fixture(scope='module')
def bare():
    """The same app and admin grant of the DocumentRoot, with no GramexUpstream:
    guarded urls answer 503, and their files lie on disk under a granted root."""
    app = guarded_app_copy()
    write_tree(app, {'page.shtml': SHTML, 'file.shtml': FILE_SHTML,
                     'idx/readme.txt': 'index by url\n',
                     'private/x.txt': 'GX-PRIVATE-X\n'})
    with serving(f'GramexConfig "{app}/gramex.yaml"\nDocumentRoot "{app}"\n'
                 f'<Directory "{app}">\n  Require all granted\n</Directory>\n'
                 f'<Directory "{app}/private">\n  Require all denied\n</Directory>\n'
                 f'<Directory "{app}/idx">\n  DirectoryIndex /admin/secret.txt\n</Directory>\n'
                 'RewriteEngine On\nRewriteCond $1 -U\n'
                 'RewriteRule ^/probe(/.*)$ /public.txt [R=302,L]\n'
                 'Options +Includes\nAddOutputFilter INCLUDES .shtml\n', app.parent,
                 extra_modules=['rewrite', 'include', 'dir']) as h:
        yield h


def test_include_subrequests_never_read_guarded_files(bare):
    r = raw_request(bare.port, '/page.shtml')
    assert r.leaks(SECRETS) == [], r.body
    # each guarded url's own answer, as in a page of its own
    assert r.status == 200 and r.body.decode() == (
        'A:public file\nB:' + NO_UPSTREAM.format('admin') + 'C:' + NO_UPSTREAM.format('members')
        + 'D:' + NO_UPSTREAM.format('admin') + 'E\n'), r.body


def test_include_file_subrequests_never_read_guarded_files(site, bare, httpd):
    """With the app as granted DocumentRoot (site, bare) and with no
    DocumentRoot at all (only the module's own grant of the app)."""
    app = guarded_app_copy()
    try:
        write_tree(app, {'file.shtml': FILE_SHTML})
        plain = httpd(f'GramexConfig "{app}/gramex.yaml"\n'
                      'Options +Includes\nAddOutputFilter INCLUDES .shtml\n',
                      extra_modules=['include']).start()
        for h in [site[0], bare, plain]:
            r = raw_request(h.port, '/file.shtml')
            assert r.leaks(SECRETS) == [], (r.status, r.body)
            assert r.status == 200 and r.body.startswith(b'A:public file\nB:'), r.body[:200]
    finally:
        shutil.rmtree(app.parent, ignore_errors=True)


def test_directory_index_subrequest_never_reads_a_guarded_file(bare):
    r = raw_request(bare.port, '/idx/')
    assert r.leaks(SECRETS) == [] and r.status == 404, (r.status, r.body)


@pytest.mark.parametrize('target, redirected', [
    ('/probe/public.txt', True),
    ('/probe/private/x.txt', False),
])
def test_lookahead_without_upstream(bare, target, redirected):
    r = raw_request(bare.port, target)
    assert r.leaks(SECRETS) == [] and r.status == (302 if redirected else 404), (target, r.status)
    assert r.headers.get('location') == (HOST + '/public.txt' if redirected else None)


def test_lookahead_is_no_oracle_for_guarded_files(bare):
    """A guarded url answers the same whether its file exists on disk or not."""
    for guard in ['admin', 'members', '%61dmin']:
        there = raw_request(bare.port, f'/probe/{guard}/secret.txt')
        absent = raw_request(bare.port, f'/probe/{guard}/no-such-file.txt')
        assert there.leaks(SECRETS) == [] and there.status == absent.status, \
            (guard, there.status, absent.status)


def test_rewrite_without_pt_onto_a_guarded_path(httpd):
    """A server-context RewriteRule without [PT] yields a DocumentRoot-relative
    URL-path (mod_rewrite's docs). With the app as DocumentRoot, a common
    legacy rule `^/old/(.*)$ /$1` must not turn /old/admin/secret.txt into the
    guarded file read from disk: the guarded urls still answer for it."""
    app = guarded_app_copy()
    try:
        h = httpd(f'GramexConfig "{app}/gramex.yaml"\nDocumentRoot "{app}"\n'
                  'RewriteEngine On\nRewriteRule ^/old/(.*)$ /$1\n',
                  extra_modules=['rewrite']).start()
        r = raw_request(h.port, '/old/public.txt')
        assert r.status == 200 and r.body == b'public file\n', r.status
        for target, url in [('/old/admin/secret.txt', 'admin'),
                            ('/old/members/secret.txt', 'members'),
                            ('/old/%61dmin/secret.txt', 'admin')]:
            r = raw_request(h.port, target)
            assert r.leaks(SECRETS) == [], (target, r.status, r.leaks(SECRETS))
            assert (r.status, r.body.decode()) == (503, NO_UPSTREAM.format(url)), target
    finally:
        shutil.rmtree(app.parent, ignore_errors=True)
