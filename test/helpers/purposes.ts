import type { TestApp } from './build.js'

/** A purpose in the office's list (POST /api/v1/purposes as the office); fails the helper on anything but 201. */
export async function addPurpose (h: TestApp, code: string, extra: Record<string, unknown> = {}) {
  const res = await h.as('security_admin', {
    method: 'POST',
    url: '/api/v1/purposes',
    payload: { code, nameZh: `用途 ${code}`, nameEn: `Purpose ${code}`, description: `data used for ${code}`, ...extra }
  }, { unit: 'OFFICE', sub: 'office-wang' })
  if (res.statusCode !== 201) throw new Error(`adding purpose ${code}: ${res.statusCode} ${res.body}`)
  return res.json()
}

/**
 * Consents of `persons` (their keys in the dataset's records) to `purposeCode` for `dataset`, given
 * yesterday and recorded by the office in one batch: what a grant on consent needs to serve their
 * rows. `separate` suits sensitive data; children's data takes `guardian`. Fails the helper unless
 * every consent is accepted.
 */
export async function recordConsents (h: TestApp, dataset: string, purposeCode: string, persons: readonly string[], kind: 'general' | 'separate' | 'guardian' = 'separate') {
  const givenAt = new Date(Date.now() - 86_400_000).toISOString()
  const res = await h.as('security_admin', {
    method: 'POST',
    url: '/api/v1/consents/batch',
    payload: persons.map((person) => ({ person, dataset, purposeCode, kind, evidence: `signed form of ${person}`, givenAt }))
  }, { unit: 'OFFICE', sub: 'office-wang' })
  if (res.statusCode !== 200 || res.json().accepted !== persons.length) throw new Error(`recording consents for ${dataset}: ${res.statusCode} ${res.body}`)
}
