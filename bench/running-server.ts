/** A bench server listening on 127.0.0.1, whichever process it lives in. */
export interface RunningServer {
  /** e.g. http://127.0.0.1:43210 */
  origin: string
  close(): Promise<void>
  /** Counts the server keeps about itself, sent to the parent when it asks (see child-protocol.ts). */
  stats?(): Record<string, number>
}
