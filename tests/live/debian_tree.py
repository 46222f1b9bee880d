"""A private copy of Debian's /etc/apache2 layout for live tests: the stock
apache2.conf, envvars and mods-enabled, our .load/.conf files installed by
`apxs-build.sh install --root`, a ports.conf on a free loopback port and
sites-available/000-default.conf enabled as on every Debian machine. httpd
runs with -d on it and Debian's APACHE_* variables pointing into the tree,
so nothing under /etc/apache2 or /var is touched."""
import os
import shutil
import subprocess
from pathlib import Path

from gxhttpd import APACHE, REPO, Apache, free_port, readable_tmpdir

STOCK = Path('/etc/apache2')
DEFAULT_SITE = """<VirtualHost *:{port}>
\tServerAdmin webmaster@localhost
\tDocumentRoot {docroot}
\tErrorLog ${{APACHE_LOG_DIR}}/error.log
</VirtualHost>
"""


def sh(*cmd, env=None, check=True):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check:
        assert out.returncode == 0, f'{cmd}: {out.stdout}{out.stderr}'
    return out


class DebianTree(Apache):
    """root/etc/apache2 mirrors /etc/apache2; root/run, root/log, root/www."""

    def __init__(self):
        self.root = readable_tmpdir('gxtest-debian-')
        self.conf = self.root / 'etc' / 'apache2'
        self.port = free_port()
        self.conf.mkdir(parents=True)
        for name in ['apache2.conf', 'envvars', 'magic']:
            shutil.copy(STOCK / name, self.conf / name)
        for d in ['mods-available', 'mods-enabled', 'conf-available', 'conf-enabled']:
            shutil.copytree(STOCK / d, self.conf / d, symlinks=True)
        # a stock machine never had mod_gramex: drop whatever another run installed
        for d in ['mods-available', 'mods-enabled']:
            for f in (self.conf / d).glob('gramex*'):
                f.unlink()
        (self.conf / 'ports.conf').write_text(f'Listen 127.0.0.1:{self.port}\n')
        for d in ['sites-available', 'sites-enabled', '../../run', '../../log', '../../www',
                  '../../usr']:
            (self.conf / d).resolve().mkdir(parents=True, exist_ok=True)
        (self.root / 'www' / 'index.html').write_text('debian default page\n')
        for p in [self.root / 'etc', self.conf, *self.conf.iterdir(), self.root / 'www',
                  self.root / 'www' / 'index.html']:
            p.chmod(0o755 if p.is_dir() else 0o644)
        # the tree's stand-in for /var/www, granted as apache2.conf grants /var/www
        (self.conf / 'conf-enabled' / 'www.conf').write_text(
            f'<Directory {self.root / "www"}>\n\tRequire all granted\n</Directory>\n')
        self.site('000-default', DEFAULT_SITE.format(port=self.port, docroot=self.root / 'www'))
        self.env = dict(os.environ, APACHE_CONFDIR=str(self.conf),
                        APACHE_RUN_USER='www-data', APACHE_RUN_GROUP='www-data',
                        APACHE_PID_FILE=str(self.pidfile),
                        APACHE_RUN_DIR=str(self.root / 'run'),
                        APACHE_LOCK_DIR=str(self.root / 'run'),
                        APACHE_LOG_DIR=str(self.root / 'log'), LANG='C')

    # --- what an admin does -------------------------------------------------
    def install(self):
        """./apxs-build.sh install --root: modules and conf into this tree."""
        return sh(str(REPO / 'apxs-build.sh'), 'install', '--root', str(self.root))

    def a2(self, cmd, *names, check=True):
        return sh(cmd, '-q', *names, env=self.env, check=check)

    def site(self, name, text, enable=True):
        path = self.conf / 'sites-available' / f'{name}.conf'
        path.write_text(text)
        path.chmod(0o644)
        if enable:
            link = self.conf / 'sites-enabled' / f'{name}.conf'
            if not link.is_symlink():
                link.symlink_to(f'../sites-available/{name}.conf')
        return path

    def link(self, name, target):
        """sites-available/NAME, a symlink to target (an app's gramex.yaml)."""
        path = self.conf / 'sites-available' / name
        path.symlink_to(target)
        return path

    def vhost(self, name, extra=''):
        return self.site(name, f'<VirtualHost *:{self.port}>\n\tServerName {name}.test\n'
                               f'\tDocumentRoot {self.root / "www"}\n{extra}</VirtualHost>\n')

    # --- httpd --------------------------------------------------------------
    def cmd(self, *args):
        return [APACHE, '-d', str(self.conf), '-f', str(self.conf / 'apache2.conf'), *args]

    def check(self):
        out = subprocess.run(self.cmd('-t'), capture_output=True, text=True, env=self.env)
        return out.returncode, out.stdout + out.stderr

    @property
    def errlog(self):
        return self.root / 'log' / 'error.log'

    @property
    def pidfile(self):
        return self.root / 'run' / 'apache2.pid'

    def launch(self):
        sh(*self.cmd('-k', 'start'), env=self.env)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
