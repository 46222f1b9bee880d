"""Stand-in for mdx_truly_sane_lists (not packaged by Debian): a no-op Markdown extension.

The guide lists it among its Markdown extensions; the comparison only needs the page to
render, the same way whether Gramex is reached directly or through Apache.
"""
from markdown.extensions import Extension


class TrulySaneListExtension(Extension):
    def extendMarkdown(self, md):
        pass


def makeExtension(**kwargs):
    return TrulySaneListExtension(**kwargs)
