/**
 * The media types an Accept header may name to ask for a format, in the order they are looked
 * for: the first format with a media type the header contains (as text, quality values and all)
 * wins.
 */
export type AcceptedTypes<F extends string> = readonly (readonly [format: F, mediaTypes: readonly string[]])[]

/**
 * The format of a response: `format=` of the query string first (its schema allows only the
 * formats the route serves, so anything else is a 400 before this), else the Accept header, else
 * the route's default. An Accept header naming nothing the route serves is never a 406: it gets
 * the default.
 */
export function chooseFormat<F extends string> (format: F | undefined, accept: string | undefined, accepted: AcceptedTypes<F>, fallback: F): F {
  if (format !== undefined) return format
  if (accept) {
    for (const [candidate, mediaTypes] of accepted) {
      for (const type of mediaTypes) if (accept.includes(type)) return candidate
    }
  }
  return fallback
}
