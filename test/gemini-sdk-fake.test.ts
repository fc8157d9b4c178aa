// The fake Gemini upstream is only worth its tests if it speaks the real format: the official
// @google/genai SDK, pointed straight at it, must read its answers, streams, embeddings and errors
// as Google's.
import { ApiError, GoogleGenAI, Type } from '@google/genai'
import { describe, expect, it } from 'vitest'
import type { GeminiGenerateContentResponse } from '../providers/gemini/wire.js'
import { type FakeGeminiScript, fakeEmbedding, startFakeGemini } from './fixtures/gemini/fake-gemini.js'

const apiKey = 'AIzaFakeGeminiKey-0001'
const model = 'gemini-2.5-flash'

const answer: GeminiGenerateContentResponse = {
  candidates: [
    {
      content: {
        role: 'model',
        parts: [
          { text: 'The user wants weather; call the tool.', thought: true },
          { text: 'Je regarde la météo à 東京 🌦️…' },
          {
            functionCall: { name: 'get_weather', args: { city: 'Tokyo', days: [1, 2] } },
            thoughtSignature: 'c2lnLTE=',
          },
        ],
      },
      finishReason: 'STOP',
      index: 0,
    },
  ],
  usageMetadata: {
    promptTokenCount: 40,
    candidatesTokenCount: 33,
    thoughtsTokenCount: 12,
    totalTokenCount: 85,
  },
  modelVersion: 'gemini-2.5-flash',
  responseId: 'fake-response-1',
}

async function setup(script: FakeGeminiScript = () => ({ response: answer }), writeBytes?: number) {
  const upstream = await startFakeGemini(script, { apiKey, writeBytes })
  const ai = new GoogleGenAI({ apiKey, httpOptions: { baseUrl: upstream.origin } })
  return { upstream, ai }
}

const tools = [
  {
    functionDeclarations: [
      {
        name: 'get_weather',
        parameters: { type: Type.OBJECT, properties: { city: { type: Type.STRING } }, required: ['city'] },
      },
    ],
  },
]

describe('the fake Gemini upstream, read by the official @google/genai SDK', () => {
  it('answers generateContent with the response, and sees the key in x-goog-api-key', async () => {
    const { upstream, ai } = await setup()
    const response = await ai.models.generateContent({
      model,
      contents: 'Weather in Tokyo?',
      config: { systemInstruction: 'be brief', tools, temperature: 0.2 },
    })
    expect(response.candidates).toEqual(answer.candidates)
    expect(response.usageMetadata).toEqual(answer.usageMetadata)
    expect(response.functionCalls).toEqual([{ name: 'get_weather', args: { city: 'Tokyo', days: [1, 2] } }])
    const [seen] = upstream.requests
    expect(seen?.url).toBe(`/v1beta/models/${model}:generateContent`)
    expect(seen?.headers['x-goog-api-key']).toBe(apiKey)
    expect(seen?.body).toMatchObject({
      contents: [{ role: 'user', parts: [{ text: 'Weather in Tokyo?' }] }],
      systemInstruction: { parts: [{ text: 'be brief' }] },
      generationConfig: { temperature: 0.2 },
    })
  })

  it('streams chunks that generateContentStream reads back into the same answer', async () => {
    const { upstream, ai } = await setup()
    const stream = await ai.models.generateContentStream({
      model,
      contents: 'Weather in Tokyo?',
      config: { tools },
    })
    const texts: string[] = []
    const parts: unknown[] = []
    let last: GeminiGenerateContentResponse | undefined
    for await (const chunk of stream) {
      for (const part of chunk.candidates?.[0]?.content?.parts ?? []) {
        parts.push(part)
        if (part.text && !part.thought) texts.push(part.text)
      }
      last = chunk as GeminiGenerateContentResponse
    }
    expect(upstream.requests[0]?.url).toBe(`/v1beta/models/${model}:streamGenerateContent?alt=sse`)
    expect(texts.length).toBeGreaterThan(1)
    expect(texts.join('')).toBe('Je regarde la météo à 東京 🌦️…')
    expect(parts).toContainEqual(answer.candidates![0]!.content!.parts![2])
    expect(last?.candidates?.[0]?.finishReason).toBe('STOP')
    expect(last?.usageMetadata).toEqual(answer.usageMetadata)
  })

  it('stays readable when its bytes arrive 5 at a time (events and UTF-8 split across reads)', async () => {
    const { ai } = await setup(undefined, 5)
    let text = ''
    for await (const chunk of await ai.models.generateContentStream({ model, contents: 'hi' }))
      text += chunk.text ?? ''
    expect(text).toBe('Je regarde la météo à 東京 🌦️…')
  })

  it('embeds through batchEmbedContents, the call the SDK makes, with outputDimensionality', async () => {
    const { upstream, ai } = await setup()
    const result = await ai.models.embedContent({
      model: 'gemini-embedding-001',
      contents: ['hello', 'wörld'],
      config: { outputDimensionality: 4 },
    })
    expect(result.embeddings?.map((e) => e.values)).toEqual([
      fakeEmbedding('hello', 4),
      fakeEmbedding('wörld', 4),
    ])
    expect(upstream.requests[0]?.url).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents')
  })

  it('refuses what Gemini refuses, as errors the SDK raises as ApiError with the status', async () => {
    const { ai } = await setup()
    const emptyObject = await ai.models
      .generateContent({
        model,
        contents: 'hi',
        config: {
          tools: [
            {
              functionDeclarations: [{ name: 'f', parameters: { type: Type.OBJECT, properties: {} } }],
            },
          ],
        },
      })
      .catch((err: unknown) => err)
    expect(emptyObject).toBeInstanceOf(ApiError)
    expect(emptyObject).toMatchObject({
      status: 400,
      message: expect.stringContaining('should be non-empty for OBJECT'),
    })
    const wrongKey = new GoogleGenAI({
      apiKey: 'AIza-wrong',
      httpOptions: { baseUrl: (await setup()).upstream.origin },
    })
    const rejected = await wrongKey.models
      .generateContent({ model, contents: 'hi' })
      .catch((err: unknown) => err)
    expect(rejected).toMatchObject({ status: 400, message: expect.stringContaining('API_KEY_INVALID') })
  })

  it('sends scripted errors, before the stream and inside it, that the SDK raises', async () => {
    const { ai } = await setup(() => ({
      error: {
        code: 429,
        status: 'RESOURCE_EXHAUSTED',
        message: 'Resource has been exhausted (e.g. check quota).',
      },
    }))
    await expect(ai.models.generateContent({ model, contents: 'hi' })).rejects.toMatchObject({ status: 429 })
    const midStream = await setup(() => ({
      chunks: [
        { candidates: [{ content: { role: 'model', parts: [{ text: 'Hel' }] }, index: 0 }] },
        { error: { code: 503, status: 'UNAVAILABLE', message: 'The model is overloaded.' } },
      ],
    }))
    const read = async () => {
      for await (const _ of await midStream.ai.models.generateContentStream({ model, contents: 'hi' })) {
      }
    }
    await expect(read()).rejects.toMatchObject({ status: 503 })
  })
})
