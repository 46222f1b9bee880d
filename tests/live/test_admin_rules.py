"""Issue 8, item 2: httpd's per-directory access control holds for every file
an app route serves. The admin's <Directory>, <DirectoryMatch>, <Files>,
<FilesMatch>, <Location>, .htaccess (where AllowOverride allows), Options and
Require win; the module grants only its app's own roots, so Debian's
`<Directory /> Require all denied` (in every test server's head) still lets the
app be served, and a url rooted elsewhere answers 403 until the admin grants it.

The app is served twice: by a named FileHandler at /files/ and by the base
layer's catch-all, so each rule is checked through both."""
import os
import re
import shutil

import pytest

from gxbackends import CannedBackend
from gxclients import listing, raw_request
from gxhttpd import readable_tmpdir, serving, write_tree

MARK = {name: f'GX-ADMIN-RULE-{name}-MARKER' for name in
        ['private', 'key', 'dirmatch', 'filesmatch', 'htaccess', 'location', 'ip', 'ssl',
         'symlink', 'notgranted']}

APP_YAML = """
url:
  files:
    pattern: /files/(.*)
    handler: FileHandler
    kwargs: {{path: $YAMLPATH/}}
  one-file:
    pattern: /one-file
    handler: FileHandler
    kwargs: {{path: $YAMLPATH/private/secret.txt}}
  system-etc:
    pattern: /etc-files/(.*)
    handler: FileHandler
    kwargs: {{path: /etc/}}
  notgranted:
    pattern: /not-granted/(.*)
    handler: FileHandler
    kwargs: {{path: "{notgranted}/"}}
  granted:
    pattern: /granted/(.*)
    handler: FileHandler
    kwargs: {{path: "{granted}/"}}
"""


def admin_conf(app, granted):
    return f"""
<Directory "{app}/private">
  Require all denied
</Directory>
<Files "*.key">
  Require all denied
</Files>
<DirectoryMatch "^{re.escape(str(app))}/hidden-[0-9]+">
  Require all denied
</DirectoryMatch>
<FilesMatch "\\.bak$">
  Require all denied
</FilesMatch>
<Directory "{app}/ht">
  AllowOverride AuthConfig
</Directory>
<Location "/loc-denied">
  Require all denied
</Location>
<Directory "{app}/iponly">
  Require ip 192.0.2.1
</Directory>
<Directory "{app}/sslonly">
  SSLRequireSSL
</Directory>
<Directory "{app}/links">
  Options -FollowSymLinks
</Directory>
<Directory "{app}/links-ok">
  Options +FollowSymLinks
</Directory>
<Directory "{granted}">
  Require all granted
</Directory>
"""


FOLLOWED = "followed by the admin's Options\n"

# path in the app -> the marker its file holds; each answers 403 through every route
DENIED = {
    'private/secret.txt': 'private',
    'keys/server.key': 'key',
    'hidden-7/secret.txt': 'dirmatch',
    'old/config.bak': 'filesmatch',
    'ht/secret.txt': 'htaccess',
    'iponly/secret.txt': 'ip',
    'sslonly/secret.txt': 'ssl',
    'links/elsewhere.txt': 'symlink',
}


@pytest.fixture(scope='module')
def site():
    root = readable_tmpdir('gxtest-admin-')
    elsewhere = write_tree(root / 'elsewhere', {'linked.txt': MARK['symlink'] + '\n',
                                                'allowed.txt': FOLLOWED})
    notgranted = write_tree(root / 'not-granted', {'file.txt': MARK['notgranted'] + '\n'})
    granted = write_tree(root / 'granted', {'file.txt': 'granted by the admin\n'})
    files = {'gramex.yaml': APP_YAML.format(notgranted=notgranted, granted=granted),
             'public.txt': 'public app file\n',
             'ht/.htaccess': 'Require all denied\n',
             'ht-off/.htaccess': 'Require all denied\n',    # AllowOverride None: ignored
             'ht-off/open.txt': 'htaccess not allowed here\n',
             'loc-denied/secret.txt': MARK['location'] + '\n',
             'private/index.html': MARK['private'] + '\n'}
    files.update({path: MARK[name] + '\n' for path, name in DENIED.items() if name != 'symlink'})
    app = write_tree(root / 'app', files)
    (app / 'links').mkdir(mode=0o755)
    os.symlink(elsewhere / 'linked.txt', app / 'links' / 'elsewhere.txt')
    (app / 'links-ok').mkdir(mode=0o755)
    os.symlink(elsewhere / 'allowed.txt', app / 'links-ok' / 'elsewhere.txt')
    with serving(f'GramexConfig "{app}/gramex.yaml"\n' + admin_conf(app, granted), root,
                 extra_modules=['authz_host', 'socache_shmcb', 'ssl']) as h:
        yield h, app


def leaked(r):
    return [name for name, m in MARK.items() if m.encode() in r.raw] + \
        (['root:'] if b'root:' in r.raw else [])


def test_app_is_served_under_debian_root_denial(site):
    h, _ = site
    for target in ['/public.txt', '/files/public.txt']:
        r = raw_request(h.port, target)
        assert r.status == 200 and r.body == b'public app file\n', target


@pytest.mark.parametrize('path', sorted(DENIED))
@pytest.mark.parametrize('route', ['catch-all', 'files'])
def test_admin_denial_holds(site, route, path):
    h, _ = site
    target = ('/files/' if route == 'files' else '/') + path
    r = raw_request(h.port, target)
    assert leaked(r) == [], (target, r.status)
    assert r.status == 403, (target, r.status)


@pytest.mark.parametrize('path', ['private/secret.txt', 'keys/server.key', 'hidden-7/secret.txt'])
def test_admin_denial_holds_for_other_spellings(site, path):
    h, _ = site
    first, rest = path.split('/', 1)
    bad = []
    for target in [f'/%{ord(first[0]):02x}{first[1:]}/{rest}', f'/x/../{path}', f'//{path}',
                   f'/{first}//{rest}', f'/files/./{path}', f'/files/{first}/../{path}',
                   f'/{first}/{rest[:-1]}%{ord(rest[-1]):02X}']:
        r = raw_request(h.port, target)
        if leaked(r) or r.status == 200:
            bad.append(f'{target!r} -> {r.status} {leaked(r)}')
    assert not bad, '\n'.join(bad)


@pytest.mark.parametrize('method, headers', [
    ('HEAD', {}), ('POST', {'Content-Length': '0'}), ('GET', {'Range': 'bytes=0-9'}),
    ('GET', {'If-None-Match': '"x"'}),
])
def test_admin_denial_holds_for_other_methods(site, method, headers):
    h, _ = site
    r = raw_request(h.port, '/private/secret.txt', method=method, headers=headers)
    assert leaked(r) == [] and r.status == 403, (method, headers, r.status)


def test_admin_denial_holds_for_a_single_file_url(site):
    h, _ = site
    r = raw_request(h.port, '/one-file')
    assert leaked(r) == [] and r.status == 403, r.status


def test_admin_denial_holds_for_a_default_filename(site):
    """GET /private/: the catch-all's default_filename (index.html) is in the
    denied directory too."""
    h, _ = site
    r = raw_request(h.port, '/private/')
    assert leaked(r) == [] and r.status == 403, r.status


def test_symlink_followed_where_the_admin_allows_it(site):
    """Symlink policy is httpd's Options: the admin's FollowSymLinks for a
    directory of the app lets its symlink be served (links/ says -FollowSymLinks)."""
    h, _ = site
    for target in ['/links-ok/elsewhere.txt', '/files/links-ok/elsewhere.txt']:
        r = raw_request(h.port, target)
        assert r.status == 200 and r.body == FOLLOWED.encode(), (target, r.status)


def test_location_denial_holds(site):
    h, _ = site
    r = raw_request(h.port, '/loc-denied/secret.txt')
    assert leaked(r) == [] and r.status == 403, r.status


def test_htaccess_only_where_allow_override_allows(site):
    h, _ = site
    r = raw_request(h.port, '/ht-off/open.txt')
    assert r.status == 200 and r.body == b'htaccess not allowed here\n'
    for target in ['/ht/.htaccess', '/ht-off/.htaccess']:
        r = raw_request(h.port, target)
        assert r.status in (403, 404) and b'Require all' not in r.raw, target


@pytest.mark.parametrize('target', ['/etc-files/passwd', '/etc-files/group',
                                    '/etc-files/./passwd', '/etc-files/%70asswd'])
def test_url_rooted_in_etc_is_refused_without_a_grant(site, target):
    h, _ = site
    r = raw_request(h.port, target)
    assert b'root:' not in r.raw, target
    assert r.status == 403, (target, r.status)


def test_url_rooted_outside_needs_the_admins_grant(site):
    h, _ = site
    r = raw_request(h.port, '/not-granted/file.txt')
    assert leaked(r) == [] and r.status == 403, r.status
    r = raw_request(h.port, '/granted/file.txt')
    assert r.status == 200 and r.body == b'granted by the admin\n', r.status


@pytest.mark.parametrize('url, directory', [('system-etc', '/etc'), ('notgranted', 'not-granted')])
def test_startup_warning_names_the_url_and_the_block(site, url, directory):
    h, _ = site
    shown = h.check()[1] + '\n' + h.error_log()     # `apachectl -t` and the error log
    lines = [line for line in shown.splitlines()
             if ':warn]' in line and re.search(rf'\b{url}\b', line) and '<Directory' in line
             and directory in line]
    assert lines, shown


def test_admin_denial_of_the_app_root_wins(httpd, app_dir):
    """The module's grant of the app's own directory comes before the admin's
    section for the same directory: the admin's denial wins."""
    app = app_dir({'gramex.yaml': APP_YAML.format(notgranted='/nowhere', granted='/nowhere'),
                   'public.txt': 'public app file\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\n'
              f'<Directory "{app}">\n  Require all denied\n</Directory>\n').start()
    for target in ['/public.txt', '/files/public.txt']:
        r = raw_request(h.port, target)
        assert r.status == 403 and b'public app file' not in r.raw, (target, r.status)


def test_admin_denial_of_the_app_root_covers_imported_sub_apps(httpd, app_dir):
    """A sub-app imported from a directory inside the app needs no grant of
    its own: one for the app's root covers it, so the admin's denial of the
    root holds for the sub-app's files too (a deeper <Directory> grant would
    apply after it and win)."""
    app = app_dir({'gramex.yaml': 'import: sub/gramex.yaml\n',
                   'sub/gramex.yaml': 'url:\n  sub:\n    pattern: /sub/(.*)\n'
                                      '    handler: FileHandler\n    kwargs: {path: $YAMLPATH/}\n',
                   'sub/page.txt': 'sub-app page\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\n'
              f'<Directory "{app}">\n  Require all denied\n</Directory>\n').start()
    r = raw_request(h.port, '/sub/page.txt')
    assert r.status == 403 and b'sub-app page' not in r.raw, r.status


RENDERED_YAML = """
url:
  files:
    pattern: /files/(.*)
    handler: FileHandler
    kwargs:
      path: $YAMLPATH/
      transform:
        "*.md": {function: markdown.markdown(content)}
"""


@pytest.mark.parametrize('rule', ['<Directory "{app}/private">', '<Files "secret.md">',
                                  '<Location "/files/private/">'])
def test_admin_denial_holds_for_files_gramex_renders(httpd, app_dir, rule):
    """A file with a transform: goes to GramexUpstream, which renders it: the
    admin's denial holds for it as for a file Apache serves, and the denied
    request never reaches Gramex."""
    gramex = CannedBackend(b'HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nrendered')
    try:
        app = app_dir({'gramex.yaml': RENDERED_YAML, 'open.md': '# open\n',
                       'private/secret.md': f'# {MARK["private"]}\n'})
        section = rule.format(app=app)
        end = section.split()[0].replace('<', '</') + '>'
        h = httpd(f'GramexConfig "{app}/gramex.yaml"\nGramexUpstream {gramex.url}\n'
                  f'{section}\n  Require all denied\n{end}\n').start()
        r = raw_request(h.port, '/files/private/secret.md')
        assert r.status == 403 and leaked(r) == [], r.status
        assert gramex.requests == []
        r = raw_request(h.port, '/files/open.md')
        assert (r.status, r.body) == (200, b'rendered')
        assert [line.split(b' ')[1] for line in gramex.header_lines()[:1]] == [b'/files/open.md']
    finally:
        gramex.stop()


def test_admin_denial_holds_through_a_symlinked_app_dir(httpd):
    """GramexConfig names the app through a symlink; the admin's <Directory>
    uses that same path. Files must be checked under the path the admin sees."""
    root = readable_tmpdir('gxtest-admin-link-')
    try:
        real = write_tree(root / 'real', {'gramex.yaml': 'url: {}\n',
                                          'public.txt': 'public app file\n',
                                          'private/secret.txt': MARK['private'] + '\n'})
        link = root / 'link'
        os.symlink(real, link)
        h = httpd(f'GramexConfig "{link}/gramex.yaml"\n'
                  f'<Directory "{link}/private">\n  Require all denied\n</Directory>\n').start()
        r = raw_request(h.port, '/private/secret.txt')
        assert leaked(r) == [] and r.status == 403, r.status
        r = raw_request(h.port, '/public.txt')
        assert r.status == 200 and r.body == b'public app file\n', r.status
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize('path', ['/etc/passwd', '"/etc/*"', '{"(.*)": "/etc/{0}"}'])
def test_single_file_and_mapped_urls_outside_need_a_grant(httpd, app_dir, path):
    app = app_dir({'gramex.yaml': 'url:\n  pw:\n    pattern: /pw/(passwd)\n'
                                  f'    handler: FileHandler\n    kwargs: {{path: {path}}}\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"').start()
    r = raw_request(h.port, '/pw/passwd')
    assert b'root:' not in r.raw and r.status == 403, r.status


def test_listing_hides_what_the_admin_denies(httpd, app_dir):
    """An `index: true` listing shows what the url would serve: entries the
    admin denied are left out, as mod_autoindex leaves them out."""
    app = app_dir({'gramex.yaml': 'url:\n  list:\n    pattern: /list/(.*)\n'
                                  '    handler: FileHandler\n'
                                  '    kwargs: {path: $YAMLPATH/, index: true}\n',
                   'public.txt': 'p\n', 'server.key': 'k\n', 'private/x.txt': 'x\n',
                   'open/y.txt': 'y\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\n'
              f'<Directory "{app}/private">\n  Require all denied\n</Directory>\n'
              '<Files "*.key">\n  Require all denied\n</Files>\n').start()
    r = raw_request(h.port, '/list/')
    assert r.status == 200, r.status
    assert listing(r.body.decode()) == [('./open/', 'open/'), ('./public.txt', 'public.txt')], r.body
    assert b'server.key' not in r.body and b'private' not in r.body, r.body
