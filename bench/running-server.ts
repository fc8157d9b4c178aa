/** A bench server listening on 127.0.0.1, whichever process it lives in. */
export interface RunningServer {
  /** e.g. http://127.0.0.1:43210 */
  origin: string
  close(): Promise<void>
}
