#!/usr/bin/env node
// Runs the CLI from source in a checkout (through tsx) and from dist/ in a built image.
import { existsSync } from 'node:fs'

const source = new URL('../src/main.ts', import.meta.url)
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api')
  register()
  await import(source.href)
} else {
  await import(new URL('../dist/main.js', import.meta.url).href)
}
