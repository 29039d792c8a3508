import { createHash } from 'node:crypto'
import type { Dataset } from '../../db/database.js'
import type { RowMasker } from '../../masking/index.js'
import type { MaskingKey } from '../../masking/index.js'
import { compilePolicy, effectiveRules, type PolicyProfiles } from '../../masking/index.js'

/** The public is the ultimate third party: personal information never leaves raw (R7.6). */
export const OPEN_PROFILE = 'third_party'
/** One pseudonym space for everything opened: the same person hashes alike across open datasets. */
export const OPEN_SCOPE = 'open'

/** What the public gets of a dataset: the fields that leave, those masked or withheld, and the row function. */
export interface PublicView {
  /** fields given out (the policy does not redact them), in the dataset's order */
  fields: string[]
  /** fields masked, hashed, generalised or withheld */
  masked: string[]
  mask: RowMasker
}

/**
 * Compiled public views, keyed by what they are computed from: the dataset's fields, its masking
 * policy and the campus day (age bands move with it). A change to any of them is a new key, so it
 * takes effect on the next request with nothing to invalidate; the digest is cheap next to a page.
 */
export function createPublicViews (key: MaskingKey, { max = 1000 }: { max?: number } = {}) {
  const views = new Map<string, PublicView>()
  return {
    of (dataset: Pick<Dataset, 'code' | 'fields'>, profiles: PolicyProfiles, day: string): PublicView {
      const id = createHash('sha256').update(JSON.stringify([dataset.code, dataset.fields, profiles, day])).digest('base64url')
      let view = views.get(id)
      if (!view) {
        if (views.size >= max) views.clear()
        const ctx = { key, scope: OPEN_SCOPE, today: new Date(`${day}T00:00:00+08:00`) }
        const rules = effectiveRules(dataset.fields, profiles, OPEN_PROFILE, ctx)
        view = {
          fields: dataset.fields.filter((f) => rules[f.name]!.rule.strategy !== 'redact').map((f) => f.name),
          masked: dataset.fields.filter((f) => rules[f.name]!.rule.strategy !== 'keep').map((f) => f.name),
          mask: compilePolicy(dataset.fields, profiles, OPEN_PROFILE, ctx)
        }
        views.set(id, view)
      }
      return view
    }
  }
}

export type PublicViews = ReturnType<typeof createPublicViews>
