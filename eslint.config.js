import neostandard from 'neostandard'

export default neostandard({
  ts: true,
  ignores: ['dist/**', '.test-build/**', 'node_modules/**', 'openapi/**', 'data/**', '.tap/**', 'examples/*/src/api.d.ts']
})
