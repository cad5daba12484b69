'use strict'
// The package's API: the addon's functions, plus `pages()`, an async iterator over the
// addon's page reader. No fetching, retrying, validating or writing happens here.
const native = require('../index.js')

/** Async iterator of the pages of a run; leaving the loop early stops the fetch. */
async function* pages(options) {
  const reader = native.openPages(options)
  try {
    for (;;) {
      const page = await reader.next()
      if (page === null) return
      yield page
    }
  } finally {
    reader.close()
  }
}

exports.fetchContent = native.fetchContent
exports.pages = pages
exports.openPages = native.openPages
exports.getContent = native.getContent
exports.pullSnapshot = native.pullSnapshot
exports.loadSnapshot = native.loadSnapshot
exports.writeEngineFiles = native.writeEngineFiles
