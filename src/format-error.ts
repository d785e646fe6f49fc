/**
 * The one error a strict parser throws: which format, which field, and which rule the input
 * broke. The message is safe to show a client (it never echoes secrets; it may quote a
 * bounded piece of the offending input).
 */
export class FormatError extends Error {
  override readonly name = 'FormatError';

  constructor(
    /** The format being parsed, e.g. "signed-note", "checkpoint", "event". */
    readonly format: string,
    /** The field that broke a rule, e.g. "signature line 2", "event.action". */
    readonly field: string,
    /** The rule, in words: "must be at most 128 characters". */
    readonly rule: string,
  ) {
    super(`${format}: ${field} ${rule}`);
  }
}
