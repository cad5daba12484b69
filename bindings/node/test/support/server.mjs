// The real content API for the tests: the demo's signed webhooks ingested into a fresh SQLite
// file by `integration-api ingest`, then `integration-api serve --require-sigv4` on loopback,
// the binaries cargo built into the shared target folder.
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createHmac, randomUUID } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { once } from 'node:events'

const root = resolve(import.meta.dirname, '../../../..')
const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target')
const bin = join(target, 'debug', 'integration-api')
const config = join(root, 'examples/demo/integration-api.toml')

export const ACCESS_KEY = 'AKIDNODETESTLOCAL000'
export const SECRET_KEY = 'node-test-only-secret-access-key'
export const REGION = 'eu-west-1'
// The demo's public, demo-only Shopify secret (examples/demo/integration-api.toml).
const SHOPIFY_SECRET = 'demo-only-shopify-webhook-secret'

/** The body of one of the demo's signed deliveries, as text. */
export function demoBody(name) {
  return JSON.parse(readFileSync(join(root, 'examples/demo/webhooks', name), 'utf8')).body
}

// Every temp folder this test file made, removed when its process exits (node --test runs
// each file in a process of its own), so that runs do not pile sites and databases up in /tmp.
const made = []
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
})

/** A fresh temp folder, removed when the test file's process exits. */
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'content-fetch-node-'))
  made.push(dir)
  return dir
}

/** Serves the demo content; `stop()` ends the server. */
export async function serve() {
  const dir = tempDir()
  const db = join(dir, 'content.sqlite3')
  const hooks = join(root, 'examples/demo/webhooks')
  for (const name of readdirSync(hooks).filter((n) => n.endsWith('.json')).sort()) {
    const provider = name.split('-')[1]
    execFileSync(bin, ['--config', config, '--db', db, 'ingest', '--provider', provider, join(hooks, name)], {
      env: { PATH: process.env.PATH, RUST_LOG: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    })
  }
  const child = spawn(bin, ['--config', config, '--db', db, 'serve', '--bind', '127.0.0.1:0', '--require-sigv4'], {
    env: { PATH: process.env.PATH, RUST_LOG: 'warn', INTEGRATION_API_ACCESS_KEYS: `${ACCESS_KEY}:${SECRET_KEY}` },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let log = ''
  const endpoint = await new Promise((ok, fail) => {
    child.stderr.on('data', (chunk) => {
      log += chunk
      const found = /listening on (http:\S+)\r?\n/.exec(log)
      if (found) ok(found[1])
    })
    child.on('exit', (code) => fail(new Error(`integration-api serve exited with ${code}: ${log}`)))
  })
  return {
    endpoint,
    dir,
    /** Ingests a Shopify delivery (the body as text: its ids pass 2^53) signed with the
     * demo's secret, as a webhook would arrive. */
    shopify(topic, body) {
      const file = join(dir, `${randomUUID()}.json`)
      const headers = {
        'Content-Type': 'application/json',
        'X-Shopify-Hmac-Sha256': createHmac('sha256', SHOPIFY_SECRET).update(body).digest('base64'),
        'X-Shopify-Shop-Domain': 'demo-shop.myshopify.com',
        'X-Shopify-Topic': topic,
        'X-Shopify-Triggered-At': new Date().toISOString(),
        'X-Shopify-Webhook-Id': randomUUID(),
      }
      writeFileSync(file, JSON.stringify({ headers, body }))
      execFileSync(bin, ['--config', config, '--db', db, 'ingest', '--provider', 'shopify', file], {
        env: { PATH: process.env.PATH, RUST_LOG: 'warn' },
        stdio: ['ignore', 'ignore', 'inherit'],
      })
    },
    async stop() {
      child.kill()
      if (child.exitCode === null) await once(child, 'exit')
    },
  }
}

/** Runs `fn` with only these AWS settings in the environment (empty shared files, no IMDS). */
export async function withAws(vars, fn) {
  const dir = tempDir()
  const empty = join(dir, 'empty')
  writeFileSync(empty, '')
  const saved = { ...process.env }
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('AWS_') || name === 'INTEGRATION_API_URL') delete process.env[name]
  }
  Object.assign(process.env, {
    AWS_CONFIG_FILE: empty,
    AWS_SHARED_CREDENTIALS_FILE: empty,
    AWS_EC2_METADATA_DISABLED: 'true',
    ...vars,
  })
  try {
    return await fn()
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name]
    Object.assign(process.env, saved)
  }
}

/** The test keys, valid for the server. */
export const goodKeys = { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_REGION: REGION }
