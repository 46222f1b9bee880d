"""Issue 8, items 3 and 5: Apache's own configuration is never served, and a
regex error while matching fails closed (500, the url logged), never falling
to another route."""
import os
import re
import shutil

import pytest

from access_util import BACKTRACK_MARKER, guarded_app_copy
from gxclients import raw_request
from gxhttpd import readable_tmpdir, serving, write_tree

# ---------------------------------------------------------------- fail closed


@pytest.fixture(scope='module')
def guarded():
    app = guarded_app_copy()
    with serving(f'GramexConfig "{app}/gramex.yaml"', app.parent) as h:
        yield h, app


def startup_output(h):
    """Where an admin sees startup warnings: `apachectl -t` and the error log."""
    return h.check()[1] + '\n' + h.error_log()


def new_log(h, before):
    return h.error_log()[len(before):]


def test_backtracking_urls_match_normally(guarded):
    """The two regexes work on ordinary paths: their url answers (503, no upstream)."""
    h, _ = guarded
    for target in ['/backtrack/aab', '/deep/ababx']:
        r = raw_request(h.port, target)
        assert r.status == 503 and b'GramexUpstream' in r.body, (target, r.status)


def test_match_limit_answers_500_not_the_catch_all(guarded):
    """/backtrack/(a+)+b$ on 40 a's then 'b.txt' exceeds PCRE2's match limit.
    The catch-all has a file at exactly that path: it must not be served."""
    h, app = guarded
    name = 'a' * 40 + 'b.txt'
    assert (app / 'backtrack' / name).read_bytes().startswith(BACKTRACK_MARKER)
    before = h.error_log()
    r = raw_request(h.port, f'/backtrack/{name}')
    assert BACKTRACK_MARKER not in r.raw
    assert r.status == 500, (r.status, r.body[:200])
    assert re.search(r'\bbacktrack\b', new_log(h, before)), new_log(h, before)


def test_stack_limit_on_a_huge_path_answers_500(guarded):
    """/deep/(?:(a|b)+)+x$ on a 7,000-byte path: JIT stack or match limit."""
    h, _ = guarded
    before = h.error_log()
    r = raw_request(h.port, '/deep/' + 'ab' * 3500 + '.txt')
    assert r.status == 500, (r.status, r.body[:200])
    assert re.search(r'\bdeep\b', new_log(h, before)), new_log(h, before)


# ------------------------------------------------- Apache config never served

SITE_MARK = 'GX-CONF-MARKER-site-5e1d'
EXTRA_MARK = 'GX-CONF-MARKER-extra-a4c7'
MAIN_MARK = 'GX-CONF-MARKER-main-0b93'
STATIC = {'static/hello.html': '<p>hello from the app</p>\n'}


def app_yaml(static_dir, sites_dir):
    """An app's gramex.yaml as the README recipe copies it beside a vhost file:
    its paths are absolute (the app itself lives elsewhere). `siteconf` is a
    named FileHandler over the site directory itself: every route refuses config."""
    return ('url:\n  static:\n    pattern: /static/(.*)\n    handler: FileHandler\n'
            f'    kwargs: {{path: "{static_dir}/"}}\n'
            '  siteconf:\n    pattern: /siteconf/(.*)\n    handler: FileHandler\n'
            f'    kwargs: {{path: "{sites_dir}/"}}\n')


def site_files(port):
    return {
        'mysite.conf': f'# {SITE_MARK}\n<VirtualHost 127.0.0.1:{port}>\n'
                       '  ServerName 127.0.0.1\n'
                       '  Include "${SITEDIR}/inc/extra.conf"\n</VirtualHost>\n',
        'inc/extra.conf': f'# {EXTRA_MARK}\nHeader set X-Site mysite\n',
    }


def config_spellings(name):
    stem, _, ext = name.rpartition('.')
    first = name.split('/')[-1][0]
    enc = name.replace(f'/{first}', f'/%{ord(first):02x}', 1) if '/' in name \
        else f'%{ord(first):02x}{name[1:]}'
    return [f'/{name}', f'/./{name}', f'//{name}', f'/x/../{name}', f'/{enc}',
            f'/{stem}%2e{ext}', f'/{stem}%2E{ext}', f'/{name}.', f'/{name}%20', f'/{name}::$DATA',
            f'/{name.upper()}', f'/{name};x', f'/{name}?x=1', f'http://127.0.0.1/{name}']


@pytest.fixture
def vhost_site(httpd):
    """A site directory as the README recipe leaves it: the vhost file, an
    Include'd file and the app's gramex.yaml copied beside them. Layouts:
    'direct' (Include sites/mysite.conf) and 'debian' (sites-enabled symlink)."""
    def make(layout):
        h = httpd()
        root = readable_tmpdir('gxtest-site-')
        app = write_tree(root / 'app', STATIC)
        sites = root / ('sites-available' if layout == 'debian' else 'sites')
        write_tree(sites, {**site_files(h.port), 'gramex.yaml': app_yaml(app / 'static', sites)})
        if layout == 'debian':
            enabled = root / 'sites-enabled'
            enabled.mkdir(mode=0o755)
            os.symlink(sites / 'mysite.conf', enabled / 'mysite.conf')
            include = f'IncludeOptional "{enabled}/*.conf"'
        else:
            include = f'Include "{sites}/mysite.conf"'
        # the app's files live outside the site dir: the admin grants them
        # (mod_gramex grants only the directories of an app's gramex.yaml files)
        h.write(f'Define SITEDIR "{sites}"\n{include}\n'
                f'<Directory "{app}">\n  Require all granted\n</Directory>\n')
        make.roots.append(root)
        return h.start(), sites
    make.roots = []
    yield make
    for root in make.roots:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize('layout', ['direct', 'debian'])
def test_vhost_app_is_loaded_from_the_site_dir(vhost_site, layout):
    """Control: the copied gramex.yaml is the vhost's app (its url answers)."""
    h, _ = vhost_site(layout)
    r = raw_request(h.port, '/static/hello.html')
    assert r.status == 200 and r.body == b'<p>hello from the app</p>\n'
    assert r.headers.get('x-site') == 'mysite'      # the Include'd file was read


@pytest.mark.parametrize('layout', ['direct', 'debian'])
def test_vhost_and_included_files_never_served(vhost_site, layout):
    h, _ = vhost_site(layout)
    bad = []
    for name in ['mysite.conf', 'inc/extra.conf', 'siteconf/mysite.conf',
                 'siteconf/inc/extra.conf']:
        for target in config_spellings(name):
            r = raw_request(h.port, target)
            if SITE_MARK.encode() in r.raw or EXTRA_MARK.encode() in r.raw:
                bad.append(f'{target!r} -> {r.status} LEAKS config')
    assert not bad, '\n'.join(bad)


def test_site_dir_with_apache_config_warns_at_startup(vhost_site):
    """No catch-all route where Apache config lives, and a warning naming the fix."""
    h, sites = vhost_site('direct')
    shown = startup_output(h)
    warnings = [line for line in shown.splitlines() if ':warn]' in line and str(sites) in line
                and re.search(r"\.conf\b|Apache'?s? config", line)]
    assert warnings, shown
    # the site dir's other files are not served either: no catch-all there
    write_tree(sites, {'readme.txt': 'site notes\n'})
    r = raw_request(h.port, '/readme.txt')
    assert r.status in (403, 404) and b'site notes' not in r.raw, r.status


def httpd_conf_leaks(h, targets):
    """The targets whose answer shows any of httpd.conf, as messages."""
    bad = []
    for target in targets:
        r = raw_request(h.port, target)
        if MAIN_MARK.encode() in r.raw or b'LoadModule' in r.raw:
            bad.append(f'{target!r} -> {r.status} LEAKS httpd.conf')
    return bad


def test_main_config_in_the_run_directory_never_served(httpd):
    """GramexConfig pointing at a gramex.yaml beside httpd.conf itself."""
    h = httpd()
    write_tree(h.dir, {'gramex.yaml': 'url: {}\n', 'page.html': '<p>page</p>\n'})
    h.write(f'# {MAIN_MARK}\nGramexConfig "{h.dir}/gramex.yaml"\n')
    h.start()
    bad = httpd_conf_leaks(h, config_spellings('httpd.conf'))
    assert not bad, '\n'.join(bad)


def test_main_config_never_served_by_a_granted_named_route(httpd, app_dir):
    """A url whose root is the directory of httpd.conf, granted by the admin:
    the grant opens the directory, never the config in it."""
    h = httpd()
    app = app_dir({'gramex.yaml': 'url:\n  serverroot:\n    pattern: /serverroot/(.*)\n'
                                  '    handler: FileHandler\n'
                                  f'    kwargs: {{path: "{h.dir}/"}}\n'})
    h.write(f'# {MAIN_MARK}\nGramexConfig "{app}/gramex.yaml"\n'
            f'<Directory "{h.dir}">\n  Require all granted\n</Directory>\n')
    h.start()
    bad = httpd_conf_leaks(h, config_spellings('serverroot/httpd.conf'))
    assert not bad, '\n'.join(bad)


# ------------------------------------ mapped paths formatted from the query

MAPPED_APP = {
    'gramex.yaml': """
url:
  admin:
    pattern: /admin/(.*)
    handler: FunctionHandler
    kwargs: {function: "'admin only'"}
  q:
    pattern: /q/(.*)
    handler: FileHandler
    kwargs:
      path:
        "(.*)": $YAMLPATH/docs/{file}
  txt:
    pattern: /txt/(.*)
    handler: FileHandler
    kwargs:
      path:
        "(.*)": $YAMLPATH/docs/{file}.txt
""",
    'docs/page.txt': 'a page\n',
    'docs/private.key': 'GX-MAPPED-KEY-MARKER\n',
    'admin/secret.txt': 'GX-MAPPED-ADMIN-MARKER\n',
}
MAPPED_SECRETS = [b'GX-MAPPED-ADMIN-MARKER', b'GX-MAPPED-KEY-MARKER', b'root:']


@pytest.fixture(scope='module')
def mapped():
    root = readable_tmpdir('gxtest-mapped-')
    app = write_tree(root / 'app', MAPPED_APP)
    with serving(f'GramexConfig "{app}/gramex.yaml"', root) as h:
        yield h


def test_mapped_path_from_the_query_works(mapped):
    """Control: {file} comes from the query, as in Gramex."""
    for target in ['/q/x?file=page.txt', '/txt/x?file=page']:
        r = raw_request(mapped.port, target)
        assert r.status == 200 and r.body == b'a page\n', (target, r.status)


@pytest.mark.parametrize('target', [
    '/q/x?file=../admin/secret.txt', '/q/x?file=..%2fadmin%2fsecret.txt',
    '/q/x?file=%2e%2e/admin/secret.txt', '/q/x?file=..\\admin\\secret.txt',
    '/q/x?file=../../../../../../etc/passwd', '/q/x?file=/etc/passwd', '/q/x?file=%2fetc%2fpasswd',
    '/q/x?file=docs/../../admin/secret.txt', '/q/x?file=.%2e/admin/secret.txt',
    '/q/x?file=../admin/./secret.txt', '/q/x?file=..//admin/secret.txt',
    '/q/x?file=../admin/secret.txt&file=page.txt', '/q/x?file=..%252fadmin/secret.txt',
    # the template adds .txt: NUL must not cut it off (private.key is not a .txt)
    '/txt/x?file=private.key%00', '/txt/x?file=private.key%00x', '/txt/x?file=../admin/secret',
])
def test_mapped_path_from_the_query_stays_in_its_root(mapped, target):
    """Gramex formats {file} from the query unnormalised (spec f.1 [W]): the
    formatted path must stay inside the url's root, and never reach a file a
    guarded url covers or the template does not name."""
    r = raw_request(mapped.port, target)
    assert not [m for m in MAPPED_SECRETS if m in r.raw], (target, r.status)
    assert r.status in (400, 403, 404), (target, r.status)
