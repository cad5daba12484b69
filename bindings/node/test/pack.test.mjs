// `npm pack` gives a tarball that a fresh site in a temp folder installs and builds with, with
// no access to the repository: an Eleventy site whose data file and plugin use the package.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join, resolve } from 'node:path'

import { serve, goodKeys, tempDir } from './support/server.mjs'

const pkg = resolve(import.meta.dirname, '..')
const repo = resolve(pkg, '../..')

let server
before(async () => {
  server = await serve()
})
after(async () => {
  await server?.stop()
})

test('npm pack, then npm install ./pkg.tgz in a fresh Eleventy site that builds', () => {
  const dir = tempDir()
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: pkg, encoding: 'utf8' }).trim().split('\n').pop()
  const siteDir = join(dir, 'site')
  mkdirSync(join(siteDir, '_data'), { recursive: true })
  const eleventyVersion = JSON.parse(readFileSync(join(repo, 'tests/sites/eleventy/node_modules/@11ty/eleventy/package.json'), 'utf8')).version
  writeFileSync(join(siteDir, 'package.json'), JSON.stringify({ name: 'fresh-site', private: true, type: 'module' }))
  writeFileSync(join(siteDir, 'eleventy.config.js'), "import { contentFetchPlugin } from '@content-platform/fetch/eleventy'\nexport default (c) => { c.addPlugin(contentFetchPlugin) }\n")
  writeFileSync(join(siteDir, '_data', 'articles.js'), "import { eleventyData } from '@content-platform/fetch/eleventy'\nexport default () => eleventyData('article')\n")
  writeFileSync(join(siteDir, 'index.njk'), '{% for p in collections.products %}<p data-id="{{ p.id }}">{{ p.title }}</p>{% endfor %}{% for a in articles %}<h2>{{ a.title }}</h2>{% endfor %}\n')
  // Eleventy comes from npm's cache (tests/sites installed it); the package from the tarball.
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(dir, tarball), `@11ty/eleventy@${eleventyVersion}`], { cwd: siteDir, stdio: ['ignore', 'ignore', 'inherit'] })
  assert.ok(existsSync(join(siteDir, 'node_modules/@content-platform/fetch/content-fetch.linux-x64-gnu.node')))
  const env = { PATH: process.env.PATH, HOME: dir, ...goodKeys, INTEGRATION_API_URL: server.endpoint, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none') }
  execFileSync(join(siteDir, 'node_modules/.bin/eleventy'), [], { cwd: siteDir, env, stdio: ['ignore', 'ignore', 'inherit'] })
  const html = readFileSync(join(siteDir, '_site/index.html'), 'utf8')
  assert.match(html, /data-id="gid:\/\/shopify\/Product\/\d+"/)
  assert.match(html, /<h2>[^<]+<\/h2>/)
})
