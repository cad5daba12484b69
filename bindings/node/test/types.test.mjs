// The package's types compile, strictly and with their own declarations checked
// (skipLibCheck off), for a TypeScript user of every entry point; a wrong option is an error.
import { test } from 'node:test'
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

import { tempDir } from './support/server.mjs'

const pkg = resolve(import.meta.dirname, '..')
const tsc = resolve(pkg, '../../tests/sites/next/node_modules/.bin/tsc')

test('the declarations type a strict TypeScript user', () => {
  const dir = tempDir()
  mkdirSync(join(dir, 'node_modules', '@content-platform'), { recursive: true })
  symlinkSync(pkg, join(dir, 'node_modules', '@content-platform', 'fetch'))
  cpSync(join(import.meta.dirname, 'types', 'usage.ts'), join(dir, 'usage.ts'))
  const options = { strict: true, module: 'nodenext', moduleResolution: 'nodenext', noEmit: true, target: 'es2022', skipLibCheck: false }
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['usage.ts'] }))
  execFileSync(tsc, ['-p', dir], { stdio: 'inherit' })
})
