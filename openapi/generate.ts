// `npm run openapi`: writes openapi/openapi.json from the route schemas (a test fails when it is stale).
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { generateOpenApiDocument, serializeDocument } from './document.js'

// dist/openapi/generate.js -> <repo>/openapi/openapi.json
const target = fileURLToPath(new URL('../../openapi/openapi.json', import.meta.url))
writeFileSync(target, serializeDocument(await generateOpenApiDocument()))
process.stdout.write(`wrote ${target}\n`)
