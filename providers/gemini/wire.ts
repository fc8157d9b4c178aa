// Gemini API wire types: the parts of the v1beta REST surface this adapter sends and reads.
// Request and response: https://ai.google.dev/api/generate-content
// Content and Part: https://ai.google.dev/api/caching#Content
// Embeddings: https://ai.google.dev/api/embeddings

export type GeminiRole = 'user' | 'model'

export interface GeminiBlob {
  mimeType: string
  /** base64 */
  data: string
}

export interface GeminiFileData {
  mimeType?: string
  fileUri: string
}

export interface GeminiFunctionCall {
  name: string
  args?: Record<string, unknown>
  /** Sent by some models; this adapter makes its own ids (tool-call-id.ts). */
  id?: string
}

export interface GeminiFunctionResponse {
  name: string
  /** Must be a JSON object (https://ai.google.dev/api/caching#FunctionResponse). */
  response: Record<string, unknown>
}

export interface GeminiPart {
  text?: string
  /** True on a thought summary part (https://ai.google.dev/gemini-api/docs/thinking#summaries). */
  thought?: boolean
  /** Opaque; must come back on the functionCall part it arrived with (https://ai.google.dev/gemini-api/docs/thought-signatures). */
  thoughtSignature?: string
  inlineData?: GeminiBlob
  fileData?: GeminiFileData
  functionCall?: GeminiFunctionCall
  functionResponse?: GeminiFunctionResponse
  executableCode?: unknown
  codeExecutionResult?: unknown
}

export interface GeminiContent {
  role?: GeminiRole
  parts?: GeminiPart[]
}

/** The OpenAPI 3.0 subset Gemini takes (https://ai.google.dev/api/caching#Schema). */
export type GeminiSchema = Record<string, unknown>

export interface GeminiFunctionDeclaration {
  name: string
  description?: string
  parameters?: GeminiSchema
}

export interface GeminiTool {
  functionDeclarations: GeminiFunctionDeclaration[]
}

export type GeminiFunctionCallingMode = 'AUTO' | 'ANY' | 'NONE' | 'VALIDATED'

export interface GeminiToolConfig {
  functionCallingConfig: { mode: GeminiFunctionCallingMode; allowedFunctionNames?: string[] }
}

export interface GeminiThinkingConfig {
  thinkingBudget?: number
  includeThoughts?: boolean
}

export interface GeminiGenerationConfig {
  temperature?: number
  topP?: number
  maxOutputTokens?: number
  stopSequences?: string[]
  candidateCount?: number
  seed?: number
  presencePenalty?: number
  frequencyPenalty?: number
  responseMimeType?: string
  responseSchema?: GeminiSchema
  thinkingConfig?: GeminiThinkingConfig
}

export interface GeminiGenerateContentRequest {
  contents: GeminiContent[]
  systemInstruction?: GeminiContent
  tools?: GeminiTool[]
  toolConfig?: GeminiToolConfig
  generationConfig?: GeminiGenerationConfig
}

export interface GeminiCandidate {
  content?: GeminiContent
  finishReason?: string
  finishMessage?: string
  index?: number
}

export interface GeminiUsageMetadata {
  promptTokenCount?: number
  cachedContentTokenCount?: number
  candidatesTokenCount?: number
  toolUsePromptTokenCount?: number
  thoughtsTokenCount?: number
  totalTokenCount?: number
}

export interface GeminiPromptFeedback {
  blockReason?: string
}

export interface GeminiGenerateContentResponse {
  candidates?: GeminiCandidate[]
  promptFeedback?: GeminiPromptFeedback
  usageMetadata?: GeminiUsageMetadata
  modelVersion?: string
  responseId?: string
}

export interface GeminiEmbedContentRequest {
  /** Required inside batchEmbedContents, where it must match the URL's model. */
  model?: string
  content: GeminiContent
  outputDimensionality?: number
}

export interface GeminiBatchEmbedContentsRequest {
  requests: GeminiEmbedContentRequest[]
}

export interface GeminiContentEmbedding {
  values?: number[]
}

export interface GeminiEmbedContentResponse {
  embedding?: GeminiContentEmbedding
}

export interface GeminiBatchEmbedContentsResponse {
  embeddings?: GeminiContentEmbedding[]
}
