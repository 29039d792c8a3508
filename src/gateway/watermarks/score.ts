/**
 * The statistics of a trace, in log space (the chances involved are far below what a double
 * holds). Each piece of evidence is a p-value: the chance of seeing it if the file did not come
 * from the candidate export.
 */

const logFactorials: number[] = [0]
function logFactorial (n: number): number {
  for (let i = logFactorials.length; i <= n; i++) logFactorials[i] = logFactorials[i - 1]! + Math.log(i)
  return logFactorials[n]!
}

function logSumExp (terms: readonly number[]): number {
  let max = -Infinity
  for (const t of terms) if (t > max) max = t
  if (max === -Infinity) return -Infinity
  let sum = 0
  for (const t of terms) sum += Math.exp(t - max)
  return max + Math.log(sum)
}

/** log P(X ≥ k) for X ~ Binomial(n, p). */
export function logBinomialTail (k: number, n: number, p: number): number {
  if (k <= 0) return 0
  if (k > n) return -Infinity
  const lp = Math.log(p)
  const lq = Math.log1p(-p)
  const terms: number[] = []
  for (let i = k; i <= n; i++) terms.push(logFactorial(n) - logFactorial(i) - logFactorial(n - i) + i * lp + (n - i) * lq)
  return Math.min(0, logSumExp(terms))
}

/**
 * Independent p-values combined: the chance that a product of k uniform p-values is at most the
 * one observed, x · Σ_{j<k} (−ln x)^j / j! (the distribution behind Fisher's method).
 */
export function logCombined (logPs: readonly number[]): number {
  if (logPs.length === 0) return 0
  const s = logPs.reduce((a, b) => a + b, 0)
  if (s === 0) return 0
  if (s === -Infinity) return -Infinity
  const y = Math.log(-s)
  const terms: number[] = []
  for (let j = 0; j < logPs.length; j++) terms.push(j * y - logFactorial(j))
  return Math.min(0, s + logSumExp(terms))
}

/** 1 − p, with p multiplied by the number of candidates looked at (Bonferroni): a confidence in [0, 1]. */
export function confidenceOf (logP: number, candidates: number): number {
  const adjusted = Math.min(0, logP + Math.log(Math.max(1, candidates)))
  return -Math.expm1(adjusted)
}
