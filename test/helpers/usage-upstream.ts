// An OpenAI upstream's answer reporting the usage a test chose, so limits can count its tokens and
// spend can price them: JSON or SSE as the request asked, embeddings too.
import type { ServerResponse } from 'node:http'
import {
  chunkBody,
  completionBody,
  type RecordedRequest,
  sendJson,
  sseData,
  startSse,
} from './fake-upstream.js'

/** OpenAI's `usage` object, as the upstream reports it. */
export interface WireUsage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  prompt_tokens_details?: { cached_tokens: number }
}

/**
 * Answers `req` with `usage`. `beforeRest` runs once the call is accepted (a stream's first chunk
 * sent, a JSON answer not yet): a test holds answers there; a client gone by then gets nothing more.
 */
export async function answerWithUsage(
  req: RecordedRequest,
  res: ServerResponse,
  usage: WireUsage,
  beforeRest: () => Promise<void> = async () => {},
): Promise<void> {
  const body = req.body as { model: string; stream?: boolean }
  if (req.url.endsWith('/embeddings')) {
    sendJson(res, 200, {
      object: 'list',
      model: body.model,
      data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }],
      usage: { prompt_tokens: usage.prompt_tokens, total_tokens: usage.prompt_tokens },
    })
    return
  }
  if (!body.stream) {
    await beforeRest()
    if (!res.destroyed) sendJson(res, 200, completionBody('Hello', body.model, { usage }))
    return
  }
  startSse(res)
  res.write(sseData(chunkBody({ role: 'assistant', content: '' }, null, body.model)))
  await beforeRest()
  if (res.destroyed) return
  res.write(sseData(chunkBody({ content: 'Hello' }, null, body.model)))
  res.write(sseData(chunkBody({}, 'stop', body.model)))
  res.write(sseData({ ...chunkBody({}, null, body.model), choices: [], usage }))
  res.end(sseData('[DONE]'))
}
