// The service boundaries of docs/architecture.md, as a lint rule (datagate/boundaries):
// - the top-level folders of src/ are layers, and a folder imports only folders below it, so that
//   no two folders import each other (a need upward is a port in src/platform/ports.ts, wired by
//   the composition root); db may name a feature's table type (`import type`) for the one
//   Database interface;
// - another service is reached only through its public entry, src/<service>/index.ts;
// - the files directly under src/ are the composition root: they wire everything and are not
//   imported by the folders (but for `import type` of src/config.ts: every layer reads its settings).
import { dirname, relative, resolve, sep } from 'node:path'

/** lowest first */
export const LAYERS = ['db', 'platform', 'masking', 'audit', 'catalog', 'authorization', 'gateway', 'cli']
/** folders whose insides are private to them */
export const SERVICES = new Set(['masking', 'audit', 'catalog', 'authorization', 'gateway'])

/** the top-level folder of a path under src/, '' for a file directly under it, null outside src/ */
function folderOf (srcRoot, file) {
  const rel = relative(srcRoot, file)
  if (rel.startsWith('..') || rel === '') return null
  const parts = rel.split(sep)
  return parts.length > 1 ? parts[0] : ''
}

const typeOnly = (node) => node.importKind === 'type' || node.exportKind === 'type' ||
  (node.type === 'ImportDeclaration' && node.specifiers.length > 0 && node.specifiers.every((s) => s.importKind === 'type'))

export const boundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'keep the services of src/ apart: layers without cycles, other services through their index.ts' },
    schema: [],
    messages: {
      upward: '{{from}} must not import {{to}}: {{to}} is above {{from}} in the layers of docs/architecture.md ({{layers}}); state the need as a port in src/platform/ports.ts and let src/app.ts wire it',
      internals: '{{from}} imports the internals of the {{to}} service ({{path}}): import from src/{{to}}/index.ts, and export there what other services may use',
      root: '{{from}} must not import the composition root ({{path}}): it wires the services, not the other way round'
    }
  },
  create (context) {
    const file = context.filename ?? context.getFilename()
    const cwd = context.cwd ?? context.getCwd()
    const srcRoot = resolve(cwd, 'src')
    const from = folderOf(srcRoot, file)
    if (from === null || from === '') return {} // outside src/, or the composition root itself
    const fromLayer = LAYERS.indexOf(from)

    function check (node, source) {
      if (!source || typeof source.value !== 'string' || !source.value.startsWith('.')) return
      const target = resolve(dirname(file), source.value.replace(/\.js$/, '.ts'))
      const to = folderOf(srcRoot, target)
      if (to === null || to === from) return
      const path = relative(cwd, target)
      if (to === '') {
        // the settings' type is read everywhere; at run time config.ts belongs to the root (it takes the alert rules' settings from the audit service)
        if (path !== `src${sep}config.ts` || !typeOnly(node)) context.report({ node: source, messageId: 'root', data: { from, path } })
        return
      }
      const toLayer = LAYERS.indexOf(to)
      if (toLayer > fromLayer && !(from === 'db' && typeOnly(node))) {
        context.report({ node: source, messageId: 'upward', data: { from, to, layers: LAYERS.join(' < ') } })
        return
      }
      if (SERVICES.has(to) && target !== resolve(srcRoot, to, 'index.ts')) {
        context.report({ node: source, messageId: 'internals', data: { from, to, path } })
      }
    }

    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source)
    }
  }
}

export default { rules: { boundaries } }
