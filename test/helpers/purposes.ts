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
