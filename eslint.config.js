import neostandard from 'neostandard'
import datagate from './eslint/boundaries.js'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', '.test-build/**', 'node_modules/**', 'openapi/**', 'data/**', '.tap/**', 'examples/*/src/api.d.ts']
  }),
  {
    // the service boundaries of docs/architecture.md
    files: ['src/**/*.ts'],
    plugins: { datagate },
    rules: { 'datagate/boundaries': 'error' }
  }
]
