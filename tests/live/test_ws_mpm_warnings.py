"""GX0047: the event MPM stops children whose threads look idle, and a child
holding asynchronous tunnels looks idle, so MaxSpareThreads below
MaxRequestWorkers would drop open WebSockets. Warned at start and by
`apachectl -t`; conf/gramex-websockets.conf's settings give no warning."""
from gxhttpd import REPO, PAGE_APP


SMALL_SPARE = ('<IfModule mpm_event_module>\n  MaxRequestWorkers 100\n  MaxSpareThreads 50\n'
               '</IfModule>\n')


def gx0047_lines(text):
    return [line for line in text.splitlines() if 'GX0047' in line]


def test_small_max_spare_threads_warns_in_config_test_and_at_start(httpd, app_dir):
    app = app_dir({'gramex.yaml': PAGE_APP, 'page.html': 'page\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\n' + SMALL_SPARE)
    rc, out = h.check()
    assert rc == 0 and 'Syntax OK' in out, out
    assert gx0047_lines(out) == [
        'GX0047: MaxSpareThreads 50 is below MaxRequestWorkers 100: the event MPM stops '
        'children whose threads look idle, which drops their open WebSockets. Set '
        'MaxSpareThreads 100 (as in conf/gramex-websockets.conf: a2enconf gramex-websockets)'], out
    h.start()
    assert len(gx0047_lines(h.error_log())) == 1, h.error_log()


def test_gramex_websockets_conf_gives_no_warning(httpd, app_dir):
    app = app_dir({'gramex.yaml': PAGE_APP, 'page.html': 'page\n'})
    h = httpd(f'Include "{REPO}/conf/gramex-websockets.conf"\nGramexConfig "{app}/gramex.yaml"')
    rc, out = h.check()
    assert rc == 0 and gx0047_lines(out) == [], out
    h.start()
    assert gx0047_lines(h.error_log()) == []


def test_no_warning_when_tunnels_are_not_asynchronous(httpd, app_dir):
    app = app_dir({'gramex.yaml': PAGE_APP, 'page.html': 'page\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\nGramexWebSocketAsync Off\n' + SMALL_SPARE)
    rc, out = h.check()
    assert rc == 0 and gx0047_lines(out) == [], out
