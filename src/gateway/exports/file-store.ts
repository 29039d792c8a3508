import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { access, mkdir, open as openFile, readdir, rename, unlink } from 'node:fs/promises'
import { once } from 'node:events'
import { join } from 'node:path'
import { AeadError, open, seal, type AeadSuite } from '../../platform/aead.js'

/**
 * Export files at rest: a sequence of frames, each a 4-byte length and one sealed chunk (AES-256-GCM
 * or SM4 with HMAC-SM3, under a key of the export), the chunk's number and whether it is the last
 * one bound in as associated data. A changed, re-ordered or cut file does not open. The SHA-256 of
 * the plain CSV is kept in the database and checked again as the file is read back.
 */
export const FILE_SUFFIX = '.csv.sealed'
const PART = '.part'
const MAX_FRAME = 64 * 1024 * 1024
const NAME = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.csv\.sealed(\.part)?$/

const aadOf = (id: string, index: number, last: boolean) => Buffer.from(`${id}\u0000${index}\u0000${last ? 1 : 0}`)

export const fileNameOf = (id: string) => `${id}${FILE_SUFFIX}`

export interface SealedWriter {
  /** appends plain text, waiting while the disk is behind */
  write (text: string): Promise<void>
  /** seals the end, moves the file in place: its plain size and SHA-256 */
  finish (): Promise<{ bytes: number, sha256: string, fileName: string }>
  /** removes what was written */
  discard (): Promise<void>
}

export async function createSealedWriter (dir: string, id: string, key: Buffer, suite: AeadSuite): Promise<SealedWriter> {
  const final = join(dir, fileNameOf(id))
  const part = final + PART
  const stream = createWriteStream(part, { mode: 0o600, flags: 'wx' })
  await once(stream, 'open')
  const hash = createHash('sha256')
  let bytes = 0
  let index = 0
  let failed: Error | null = null
  stream.on('error', (err) => { failed = err })

  async function frame (plain: Buffer, last: boolean) {
    if (failed) throw failed
    const sealed = seal(suite, key, plain, aadOf(id, index++, last))
    const head = Buffer.alloc(4)
    head.writeUInt32BE(sealed.length)
    stream.write(head)
    if (!stream.write(sealed)) await once(stream, 'drain') // rejects if the stream errs meanwhile
    if (failed) throw failed
  }

  return {
    async write (text) {
      if (text.length === 0) return
      const plain = Buffer.from(text, 'utf8')
      hash.update(plain)
      bytes += plain.length
      await frame(plain, false)
    },
    async finish () {
      await frame(Buffer.alloc(0), true)
      stream.end()
      await once(stream, 'finish')
      if (failed) throw failed
      await rename(part, final)
      return { bytes, sha256: hash.digest('hex'), fileName: fileNameOf(id) }
    },
    async discard () {
      stream.destroy()
      await unlink(part).catch(() => {})
    }
  }
}

/**
 * The plain CSV of a sealed file, chunk by chunk as the reader asks for it. Anything changed, cut
 * or appended, or a digest other than the one recorded, ends the stream with an AeadError.
 */
export async function * readSealed (dir: string, fileName: string, id: string, key: Buffer, sha256: string): AsyncGenerator<Buffer> {
  const handle = await openFile(join(dir, fileName), 'r')
  try {
    const hash = createHash('sha256')
    const head = Buffer.alloc(4)
    for (let index = 0; ; index++) {
      if ((await handle.read(head, 0, 4)).bytesRead !== 4) throw new AeadError('the export file is cut short')
      const length = head.readUInt32BE(0)
      if (length > MAX_FRAME) throw new AeadError('the export file is corrupt')
      const sealed = Buffer.alloc(length)
      if ((await handle.read(sealed, 0, length)).bytesRead !== length) throw new AeadError('the export file is cut short')
      let plain: Buffer
      let last = false
      try {
        plain = open(key, sealed, aadOf(id, index, false))
      } catch {
        plain = open(key, sealed, aadOf(id, index, true))
        last = true
      }
      if (last) {
        if ((await handle.read(head, 0, 1)).bytesRead !== 0) throw new AeadError('the export file has trailing data')
        if (hash.digest('hex') !== sha256) throw new AeadError('the export file does not match its digest')
        return
      }
      hash.update(plain)
      yield plain
    }
  } finally {
    await handle.close()
  }
}

export async function fileExists (dir: string, fileName: string): Promise<boolean> {
  return await access(join(dir, fileName)).then(() => true, () => false)
}

export async function ensureDir (dir: string) {
  await mkdir(dir, { recursive: true, mode: 0o700 })
}

export async function removeFile (dir: string, fileName: string) {
  await unlink(join(dir, fileName)).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
}

/** Export files (and partial ones) in the directory, by export id. */
export async function filesIn (dir: string): Promise<{ id: string, fileName: string }[]> {
  const names = await readdir(dir).catch(() => [] as string[])
  return names.flatMap((n) => {
    const m = NAME.exec(n)
    return m ? [{ id: m[1]!, fileName: n }] : []
  })
}
