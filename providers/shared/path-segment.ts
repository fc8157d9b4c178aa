// Model names that go into an upstream URL path (Azure deployments, Gemini models) must stay one
// segment under the path the provider means. encodeURIComponent escapes `/`, `?`, `#` and `%`, but
// leaves `.` and `..` as they are, which servers and proxies resolve as "here" and "up one level"
// (`/openai/deployments/../chat/completions`); and it throws on an unpaired surrogate.
import { invalidRequest } from '../../plugins/gateway-error.js'

export function toPathSegment(model: string): string {
  let encoded = ''
  try {
    encoded = encodeURIComponent(model)
  } catch {}
  if (encoded === '' || encoded === '.' || encoded === '..') {
    throw invalidRequest(
      `The model \`${model}\` cannot be sent to the provider: "." and "..", and text that is not valid ` +
        'Unicode, are not model names.',
      'model',
      'invalid_value',
    )
  }
  return encoded
}
