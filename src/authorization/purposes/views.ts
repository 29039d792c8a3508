import type { Purpose } from '../../db/database.js'
import type { PurposeView } from './schemas.js'

export function toPurposeView (p: Purpose): PurposeView {
  return {
    code: p.code,
    nameZh: p.name_zh,
    nameEn: p.name_en,
    description: p.description,
    retired: p.retired_at !== null,
    retiredAt: p.retired_at?.toISOString() ?? null,
    createdBy: p.created_by,
    createdAt: p.created_at.toISOString(),
    updatedAt: p.updated_at.toISOString()
  }
}
