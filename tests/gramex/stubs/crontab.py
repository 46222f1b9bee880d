"""Stand-in for the `crontab` package (parse-crontab), which Debian does not package.

Gramex's scheduler only asks CronTab(spec).next() for the seconds until the next run.
The comparison never waits for a scheduled task, so every schedule is "an hour away".
"""


class CronTab:
    def __init__(self, spec):
        self.spec = spec

    def next(self, now=None, default_utc=False, **kwargs):
        return 3600.0
