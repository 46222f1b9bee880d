"""Stock Debian operation on a private copy of /etc/apache2 (debian_tree.py):
`apxs-build.sh install --root`, `a2enmod gramex`, an app linked in as
sites-available/NAME.gramex.yaml next to the always-enabled 000-default.conf,
and what the log, `apache2 -t` and the status page say about it."""
import re

import pytest
import requests

from debian_tree import DebianTree
from gxhttpd import PAGE_APP, PROXY_APP

APP = '\nimport: sub/gramex.yaml' + PAGE_APP
SUB = """
url:
  sub:
    pattern: /$YAMLURL/sub
    handler: FileHandler
    kwargs: {path: $YAMLPATH/sub.html}
"""
STATUS = """<IfModule gramex_module>
\t<Location /gramex-status>
\t\tSetHandler gramex-status
\t\tRequire all granted
\t</Location>
</IfModule>
"""


@pytest.fixture
def debian():
    made = []

    def make():
        t = DebianTree()
        made.append(t)
        t.install()
        t.a2('a2enmod', 'gramex')
        return t

    yield make
    for t in made:
        t.cleanup()


@pytest.fixture
def myapp(app_dir):
    return app_dir({'gramex.yaml': APP, 'page.html': 'myapp page\n',
                    'sub/gramex.yaml': SUB, 'sub/sub.html': 'myapp sub\n'})


def get(tree, host, path):
    return requests.get(f'{tree.url}{path}', headers={'Host': host}, timeout=10)


def test_linked_app_loads_for_its_vhost_only(debian, myapp):
    t = debian()
    t.vhost('myapp')
    link = t.link('myapp.gramex.yaml', myapp / 'gramex.yaml')
    rc, out = t.check()
    assert rc == 0 and 'Syntax OK' in out, out
    t.start()
    # $YAMLPATH is the app's real directory: its import and files are found there
    assert get(t, 'myapp.test', '/page').text == 'myapp page\n'
    assert get(t, 'myapp.test', '/sub/sub').text == 'myapp sub\n'
    # 000-default (the first vhost, also the default for unknown hosts) has no app
    r = get(t, 'localhost', '/page')
    assert r.status_code == 404
    assert get(t, 'localhost', '/').text == 'debian default page\n'
    log = t.error_log()
    loaded = [l for l in log.splitlines() if 'GX0001' in l]
    assert len(loaded) == 1, log                     # once, for the one vhost
    assert re.search(rf'GX0001: vhost myapp.test:{t.port} \(\S+sites-enabled/myapp.conf:1\): '
                     rf'app {myapp}/gramex.yaml \(found {link} -> {myapp}/gramex.yaml\): '
                     r'3 routes', loaded[0]), loaded[0]
    looked = [l for l in log.splitlines() if 'GX0003' in l]
    default = [l for l in looked if '000-default.conf' in l]
    assert len(default) == 1, log
    assert f"looked for {t.conf}/sites-enabled/000-default.gramex.yaml, " \
           f"{t.conf}/sites-available/000-default.gramex.yaml" in default[0]
    # every message once: nothing logged twice
    gramex_lines = [l.split('] ', 3)[-1] for l in log.splitlines() if 'gramex' in l]
    assert len(gramex_lines) == len(set(gramex_lines)), log


def test_plain_gramex_yaml_beside_two_sites_is_not_guessed(debian, myapp):
    t = debian()
    t.vhost('myapp', STATUS)
    t.link('gramex.yaml', myapp / 'gramex.yaml')
    rc, out = t.check()
    assert rc == 0, out
    warning = [l for l in out.splitlines() if l.startswith('gramex: warning: ')]
    assert len(warning) == 1, out
    assert (f'{t.conf}/sites-available/gramex.yaml: not loaded: 2 files in '
            f'{t.conf}/sites-available define vhosts (') in warning[0]
    assert '000-default.conf' in warning[0] and 'myapp.conf' in warning[0]
    assert (f'ln -s /srv/myapp/gramex.yaml {t.conf}/sites-available/myapp.gramex.yaml'
            in warning[0])
    t.start()
    assert get(t, 'myapp.test', '/page').status_code == 404
    assert t.error_log().count('not loaded: 2 files') == 1
    # the status page says the same
    status = get(t, 'myapp.test', '/gramex-status?json').json()
    assert status['apps'] == []
    assert len(status['discovery_warnings']) == 1
    assert status['discovery_warnings'][0] in warning[0]
    assert 'not loaded: 2 files in' in get(t, 'myapp.test', '/gramex-status').text


def test_plain_gramex_yaml_beside_the_only_site(debian, myapp):
    t = debian()
    t.a2('a2dissite', '000-default')
    t.vhost('myapp')
    t.link('gramex.yaml', myapp / 'gramex.yaml')
    t.start()
    assert get(t, 'myapp.test', '/page').text == 'myapp page\n'


def test_copy_in_config_dir_is_refused_with_the_fix(debian, myapp):
    t = debian()
    t.vhost('myapp')
    copy = t.conf / 'sites-available' / 'myapp.gramex.yaml'
    copy.write_text((myapp / 'gramex.yaml').read_text())
    rc, out = t.check()
    assert rc != 0, out
    line = next(l for l in out.splitlines() if l.startswith('gramex: error: '))
    assert (f"{copy}: this app's gramex.yaml is a copy inside Apache's configuration directory "
            f"{t.conf}, so $YAMLPATH would be {t.conf}/sites-available") in line
    assert f'ln -s /srv/APP/gramex.yaml {copy}' in line


def test_dangling_link_is_reported(debian, myapp):
    t = debian()
    t.vhost('myapp')
    link = t.link('myapp.gramex.yaml', myapp / 'missing.yaml')
    rc, out = t.check()
    assert rc == 0
    assert (f'gramex: warning: {link}: not loaded: it is a symlink to a file that does not '
            'exist') in out


def test_status_page_says_where_it_looked(debian, myapp):
    t = debian()
    t.vhost('myapp', STATUS)
    t.site('000-default', t.conf.joinpath('sites-available', '000-default.conf').read_text()
           .replace('</VirtualHost>', STATUS + '</VirtualHost>'))
    t.link('myapp.gramex.yaml', myapp / 'gramex.yaml')
    t.start()
    mine = get(t, 'myapp.test', '/gramex-status?json').json()
    assert mine['apps'][0]['yaml'] == f'{myapp}/gramex.yaml'
    assert mine['port'] == t.port and mine['hostname'] == 'myapp.test'
    assert mine['apps'][0]['source'].startswith(f'found {t.conf}/sites-available/myapp.gramex')
    other = get(t, 'localhost', '/gramex-status?json').json()
    assert other['apps'] == []
    assert other['looked_for'].startswith(f'{t.conf}/sites-enabled/000-default.gramex.yaml')
    html = get(t, 'localhost', '/gramex-status').text
    assert f'{t.conf}/sites-available/000-default.gramex.yaml' in html


def test_a2dismod_and_uninstall_leave_apache_working(debian, myapp):
    t = debian()
    t.vhost('myapp', '\t<IfModule gramex_module>\n\t\tGramexConfig ' + str(myapp / 'gramex.yaml')
            + '\n\t</IfModule>\n')
    rc, out = t.check()
    assert rc == 0, out
    t.a2('a2dismod', 'gramex')
    rc, out = t.check()
    assert rc == 0 and 'Syntax OK' in out, out
    t.a2('a2enmod', 'gramex')
    from debian_tree import sh
    from gxhttpd import REPO
    sh(str(REPO / 'apxs-build.sh'), 'uninstall', '--root', str(t.root))
    assert not (t.conf / 'mods-enabled' / 'gramex.load').exists()
    assert not (t.conf / 'mods-available' / 'gramex.load').exists()
    assert not list((t.root / 'usr' / 'lib' / 'apache2' / 'modules').glob('mod_gramex*'))
    rc, out = t.check()
    assert rc == 0 and 'Syntax OK' in out, out
    t.start()
    assert get(t, 'myapp.test', '/').text == 'debian default page\n'


def test_linked_app_proxies_with_the_checklist(debian, app_dir, backends):
    """An app found beside its vhost gets the workers GramexConfig would define:
    the backend sees the original Host (ProxyPreserveHost), as Gramex does."""
    b = backends()
    app = app_dir({'gramex.yaml': PROXY_APP.format(port=b.port)})
    t = debian()
    t.vhost('myapp')
    t.link('myapp.gramex.yaml', app / 'gramex.yaml')
    t.start()
    echo = get(t, 'myapp.test', '/api/x?y=1').json()
    assert echo['path'] == '/x' and echo['query'] == 'y=1'
    assert echo['headers']['Host'] == 'myapp.test'
