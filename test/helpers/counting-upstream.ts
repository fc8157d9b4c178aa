import {
  completionBody,
  type FakeUpstream,
  sendJson,
  startFakeUpstream,
  streamAnswer,
} from './fake-upstream.js'

/**
 * An OpenAI upstream whose answers carry its call count (chat, streamed chat and embeddings), so a
 * replay from the cache is told from a fresh answer.
 */
export async function startCountingUpstream(): Promise<FakeUpstream> {
  const upstream: FakeUpstream = await startFakeUpstream(async (req, res) => {
    const call = upstream.requests.length
    if (req.url.endsWith('/embeddings')) {
      return sendJson(res, 200, {
        object: 'list',
        model: 'emb-up',
        data: [{ object: 'embedding', index: 0, embedding: [call, -0.5] }],
        usage: { prompt_tokens: 3, total_tokens: 3 },
      })
    }
    if ((req.body as { stream?: boolean }).stream) return streamAnswer(res, ['answer ', `#${call}`])
    sendJson(res, 200, completionBody(`answer #${call}`))
  })
  return upstream
}
