#!/usr/bin/env node
// `npm test`: compiles the TypeScript of src/, migrations/, scripts/ and test/ once, file by file
// (esbuild, no bundling: the tree keeps its shape), into .test-build/, and runs tap on the compiled
// test files with plain Node. Loading TypeScript through a loader hook costs every test process, and
// every CLI process a test starts, a second or more of CPU before its first test; compiled once,
// that cost is paid once per run.
//
//   npm test                                   every test file
//   npm test -- test/gateway/data.test.ts      some files (the .ts paths, as in the tree)
//   npm test -- test/audit                     every test file of a folder
//   npm test -- --exclude=test/config.test.ts  any tap option; .ts test paths in it are mapped too
//
// `npx tap test/x.test.ts` still runs a file straight from source (through tsx), without the build.
import { spawnSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { build } from 'esbuild'

const root = join(import.meta.dirname, '..')
const out = join(root, '.test-build')
const trees = ['src', 'migrations', 'scripts', 'test']

const entryPoints = trees.flatMap((tree) => readdirSync(join(root, tree), { recursive: true })
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
  .map((file) => join(tree, file)))

const built = await build({
  absWorkingDir: root,
  entryPoints,
  outdir: out,
  outbase: '.',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'inline',
  sourcesContent: false,
  logLevel: 'warning',
  write: false
})
// Only what changed is written, each file whole (a temporary file renamed over it), and only files
// whose source is gone are removed: another run in this checkout may be reading the build right now.
const wanted = new Set()
for (const file of built.outputFiles) {
  wanted.add(file.path)
  const current = existsSync(file.path) ? readFileSync(file.path) : null
  if (current && Buffer.compare(current, file.contents) === 0) continue
  mkdirSync(dirname(file.path), { recursive: true })
  const temporary = `${file.path}.${process.pid}.tmp`
  writeFileSync(temporary, file.contents)
  renameSync(temporary, file.path)
}
for (const tree of trees) {
  const dir = join(out, tree)
  if (!existsSync(dir)) continue
  for (const file of readdirSync(dir, { recursive: true })) {
    const path = join(dir, file)
    if (path.endsWith('.js') && !wanted.has(path)) rmSync(path, { force: true })
  }
}
// what the code and the tests read beside the tree: the OpenAPI document, the README and the docs
for (const name of ['openapi', 'README.md', 'docs']) {
  const link = join(out, name)
  try {
    if (!lstatSync(link, { throwIfNoEntry: false })) symlinkSync(join('..', name), link)
  } catch (err) {
    if (err.code !== 'EEXIST') throw err // another run made it
  }
}

/**
 * `test/a.test.ts` → `.test-build/test/a.test.js`, inside tap options too; a folder of the tree,
 * `test/audit`, → `.test-build/test/audit` (given as it is, tap would find no compiled test in it).
 */
const mapPath = (arg) => {
  const mapped = arg.replace(/(^|=)(\.\/)?((?:test|src)\/[^=]*?)\.ts$/, (_, pre, _dot, path) => `${pre}${relative(root, join(out, path))}.js`)
  if (mapped !== arg || !/^(\.\/)?test(\/|$)/.test(arg)) return mapped
  return lstatSync(join(root, arg), { throwIfNoEntry: false })?.isDirectory() ? relative(root, join(out, arg)) : arg
}
const args = process.argv.slice(2).map(mapPath)

const tap = spawnSync(process.execPath, [join(root, 'node_modules/tap/dist/esm/run.mjs'), ...args], {
  cwd: root,
  stdio: 'inherit',
  // tap sets the coverage switch of each test file's process; this one reaches the `before` script,
  // whose coverage tap would otherwise measure, and print, even with coverage disabled
  env: { ...process.env, TAP_RCFILE: join(root, 'test/taprc.compiled.yaml'), _TAPJS_PROCESSINFO_COVERAGE_: '0' }
})
process.exit(tap.status ?? 1)
