// The service boundaries of docs/architecture.md are enforced by `npm run lint` (rule
// datagate/boundaries, eslint/boundaries.js): these snippets, linted with the repository's own
// configuration as if they were files of src/, show what it rejects and what it lets through. The
// tree itself is held to it by `npm run lint`, which .ci/run runs.
import { join } from 'node:path'
import { ESLint } from 'eslint'
import t from 'tap'
import { repoRoot } from '../helpers/spawn.js'

const eslint = new ESLint({ cwd: repoRoot })

async function boundaryErrors (file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\n`, { filePath: join(repoRoot, file) })
  return result!.messages.filter((m) => m.ruleId === 'datagate/boundaries').map((m) => m.message)
}

t.test('a service reaching into another service\'s internals is rejected', async (t) => {
  const errors = await boundaryErrors('src/gateway/data/fixture.ts', "import { loadMaskingKey } from '../../masking/keys.js'\nexport const k = loadMaskingKey")
  t.equal(errors.length, 1)
  t.match(errors[0], /gateway imports the internals of the masking service \(src\/masking\/keys\.ts\): import from src\/masking\/index\.ts/)
  t.same(await boundaryErrors('src/gateway/data/fixture.ts', "import { loadMaskingKey } from '../../masking/index.js'\nexport const k = loadMaskingKey"), [],
    'the same import through the public entry passes')
  t.same(await boundaryErrors('src/gateway/data/fixture.ts', "export { loadMaskingKey } from '../../masking/keys.js'"), [
    'gateway imports the internals of the masking service (src/masking/keys.ts): import from src/masking/index.ts, and export there what other services may use'
  ], 're-exports count as imports')
  t.equal((await boundaryErrors('src/audit/fixture.ts', "export const m = async () => await import('../masking/strategies.js')")).length, 1, 'so do dynamic imports')
})

t.test('an import upward, which would make two folders import each other, is rejected', async (t) => {
  const upward = await boundaryErrors('src/catalog/records/fixture.ts', "import { createSharingControl } from '../../authorization/index.js'\nexport const s = createSharingControl")
  t.equal(upward.length, 1)
  t.match(upward[0], /catalog must not import authorization: authorization is above catalog in the layers of docs\/architecture\.md \(db < platform < masking < audit < catalog < authorization < gateway < cli\); state the need as a port in src\/platform\/ports\.ts/)
  t.match(await boundaryErrors('src/masking/fixture.ts', "import { createDatasetRepository } from '../catalog/datasets/repository.js'\nexport const r = createDatasetRepository"),
    [/masking must not import catalog/])
  t.match(await boundaryErrors('src/platform/fixture.ts', "import { recordOrRefuse } from '../audit/index.js'\nexport const r = recordOrRefuse"), [/platform must not import audit/])
  t.same(await boundaryErrors('src/authorization/fixture.ts', "import { canSee } from '../catalog/index.js'\nexport const c = canSee"), [], 'downward through the entry passes')
})

t.test('db names a feature\'s table type, and nothing else of it', async (t) => {
  t.same(await boundaryErrors('src/db/fixture.ts', "import type { RecordCorrectionTable } from '../catalog/index.js'\nexport type T = RecordCorrectionTable"), [])
  t.match(await boundaryErrors('src/db/fixture.ts', "import { canSee } from '../catalog/index.js'\nexport const c = canSee"), [/db must not import catalog/])
})

t.test('the composition root is imported by no folder but for the settings', async (t) => {
  t.match(await boundaryErrors('src/audit/fixture.ts', "import { SERVICE_ROUTES } from '../services.js'\nexport const r = SERVICE_ROUTES"),
    [/audit must not import the composition root \(src\/services\.ts\)/])
  t.same(await boundaryErrors('src/audit/fixture.ts', "import type { Config } from '../config.js'\nexport type C = Config"), [])
  t.match(await boundaryErrors('src/platform/fixture.ts', "import { loadConfig } from '../config.js'\nexport const l = loadConfig"),
    [/platform must not import the composition root \(src\/config\.ts\)/], 'the settings\' code belongs to the root: it reads the audit service\'s alert rules')
  t.same(await boundaryErrors('src/app-fixture.ts', "import { loadMaskingKey } from './masking/keys.js'\nexport const k = loadMaskingKey"), [], 'the root wires what it needs')
  t.same(await boundaryErrors('test/fixture.ts', "import { loadMaskingKey } from '../src/masking/keys.js'\nexport const k = loadMaskingKey"), [], 'tests reach anything they test')
})
