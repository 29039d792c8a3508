// The load generator of the out-of-process benchmarks, in a process of its own: autocannon against
// one server, the request paths taken in turn from a file, the result as one JSON line on stdout.
//
//   node --import tsx bench/load.ts '{"url":"http://127.0.0.1:3042","pathsFile":"/tmp/p.json","connections":50,"seconds":10}'
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'

export interface LoadOptions {
  url: string
  /** a JSON array of paths (with their query strings), requested in turn */
  pathsFile: string
  headers?: Record<string, string>
  connections: number
  seconds: number
}

/** `cpuMs`: the CPU the load generator itself took (user and system), to tell it from the server's */
export interface LoadResult { rps: number, p50: number, p99: number, requests: number, non2xx: number, errors: number, cpuMs: number }

const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions
const paths = JSON.parse(readFileSync(options.pathsFile, 'utf8')) as string[]
let i = 0
const cpu = process.cpuUsage()
const result = await autocannon({
  url: options.url,
  connections: options.connections,
  duration: options.seconds,
  headers: options.headers ?? {},
  requests: [{ setupRequest: (r: autocannon.Request) => ({ ...r, path: paths[i++ % paths.length]! }) }]
})
const out: LoadResult = {
  rps: result.requests.average,
  p50: result.latency.p50,
  p99: result.latency.p99,
  requests: result.requests.total,
  non2xx: result.non2xx,
  errors: result.errors,
  cpuMs: (({ user, system }) => (user + system) / 1000)(process.cpuUsage(cpu))
}
process.stdout.write(`${JSON.stringify(out)}\n`)
