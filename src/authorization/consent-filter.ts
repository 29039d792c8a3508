import { sql, type RawBuilder } from 'kysely'
import type { Dataset, Grant } from '../db/database.js'

/** Whether a grant rests on consent: its request said so, or its dataset holds sensitive or children's personal information (R9.2, R9.3). */
export function restsOnConsent (grant: Pick<Grant, 'consent_based'>, dataset: Pick<Dataset, 'sensitive_pi' | 'children_pi'>): boolean {
  return grant.consent_based || dataset.sensitive_pi || dataset.children_pi
}

/**
 * The consent condition on a `records` row under a grant that rests on consent, or null for one that
 * does not: the row's person holds a consent in force now (active, not past its expiry) for the
 * grant's dataset and purpose, of the kind the dataset takes (a guardian's for children's data, no
 * general one for sensitive data, as when it was recorded: the dataset may have been regraded
 * since). A semi-join answered from consents_row_idx; validity is judged by the database at read
 * time, so a withdrawal or an expiry counts at the next read on every gateway, and nothing cached
 * can serve a withdrawn person's rows. A grant without a purpose serves nothing.
 */
export function consentPredicate (grant: Pick<Grant, 'consent_based' | 'dataset_code' | 'purpose_code'>, dataset: Pick<Dataset, 'sensitive_pi' | 'children_pi'>): RawBuilder<boolean> | null {
  if (!restsOnConsent(grant, dataset)) return null
  if (grant.purpose_code === null) return sql<boolean>`false`
  const kind = dataset.children_pi ? sql` and c.kind = 'guardian'` : dataset.sensitive_pi ? sql` and c.kind <> 'general'` : sql``
  return sql<boolean>`exists (select 1 from consents c
    where c.dataset_code = ${grant.dataset_code} and c.purpose_code = ${grant.purpose_code} and c.person_key = records.person_key
      and c.status = 'active' and (c.expires_at is null or c.expires_at > now())${kind})`
}
