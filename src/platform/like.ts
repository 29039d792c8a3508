/** A LIKE/ILIKE pattern matching `text` anywhere, with its wildcards taken literally. */
export function containsPattern (text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}
