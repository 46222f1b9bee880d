"""Stand-in for markdown-customblocks (not packaged by Debian).

Handles the form the guide uses:

    ::: example href="..." source="..."
        indented content

by calling generators[name](ctx, **attrs) and inserting what it returns as raw HTML.
The comparison only needs the guide's pages to render deterministically.
"""
import re
import shlex
import xml.etree.ElementTree as etree

from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension

HEAD = re.compile(r'^:::+\s*(\w[\w-]*)\s*(.*)$')


class Ctx:
    def __init__(self, content, type_, parser):
        self.content = content
        self.type = type_
        self.parser = parser


class CustomBlocksProcessor(BlockProcessor):
    def __init__(self, parser, generators):
        super().__init__(parser)
        self.generators = generators

    def test(self, parent, block):
        return bool(HEAD.match(block.split('\n', 1)[0]))

    def run(self, parent, blocks):
        block = blocks.pop(0)
        first, _, rest = block.partition('\n')
        name, attrs = HEAD.match(first).groups()
        kwargs = {}
        for word in shlex.split(attrs):
            key, eq, val = word.partition('=')
            kwargs[key] = val if eq else True
        content = '\n'.join(line[4:] if line.startswith('    ') else line.lstrip()
                            for line in rest.split('\n'))
        gen = self.generators.get(name)
        if gen is None:
            div = etree.SubElement(parent, 'div', {'class': name})
            div.text = content
            return
        out = gen(Ctx(content, name, self.parser), **kwargs)
        if isinstance(out, bytes):
            out = out.decode('utf-8')
        placeholder = self.parser.md.htmlStash.store(str(out))
        p = etree.SubElement(parent, 'p')
        p.text = placeholder


class CustomBlocksExtension(Extension):
    def __init__(self, generators=None, **kwargs):
        self.generators = generators or {}
        super().__init__(**kwargs)

    def extendMarkdown(self, md):
        md.parser.blockprocessors.register(
            CustomBlocksProcessor(md.parser, self.generators), 'customblocks', 105)
