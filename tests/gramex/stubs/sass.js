// Stand-in for Dart Sass's sass.js (npm; not in Debian), used only when recording the CI
// fixture: `node sass.js SRC TARGET --style compressed ...` as gramex.apps.ui.sass2 runs it.
// Handles what the fixture uses: @import "file"; and $name: value; then writes compressed CSS.
const fs = require('fs')
const [src, target] = process.argv.slice(2)
const vars = {}
function expand(file) {
  return fs.readFileSync(file, 'utf8').replace(/@import\s+"([^"]+)";/g, (_, f) => expand(f))
}
const css = expand(src)
  .replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, '')
  .replace(/\$([\w-]+)\s*:\s*([^;]+);/g, (_, k, v) => { vars[k] = v.trim(); return '' })
  .replace(/\$([\w-]+)/g, (_, k) => vars[k])
  .replace(/\s*([{}:;,])\s*/g, '$1')
  .replace(/;}/g, '}')
  .replace(/\s+/g, ' ')
  .trim()
fs.writeFileSync(target, css + '\n')
