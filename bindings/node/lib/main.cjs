'use strict'
// The package's API over the addon. The addon hands items over as JSON text in small chunks
// (V8's JSON.parse is much faster than making objects through napi); they are parsed here,
// letting the event loop run between chunks so that a large fetch never holds it up. No
// fetching, retrying, validating or writing happens here.
const native = require('../index.js')

const turn = () => new Promise((resolve) => setImmediate(resolve))

/** Parses JSON array chunks onto `items`, in order, yielding to the event loop between chunks. */
async function parseInto(items, chunks) {
  for (let i = 0; i < chunks.length; i++) {
    if (i > 0) await turn()
    for (const item of JSON.parse(chunks[i].toString('utf8'))) items.push(item)
  }
  return items
}

/**
 * Every item matching the options, sorted by content type then id. Pages are parsed as they
 * arrive, while the next ones are fetched; the addon gives the order at the end.
 */
async function fetchContent(options) {
  const reader = native.openContent(options)
  let items = []
  try {
    for (;;) {
      const page = await reader.next()
      if (page === null) break
      if (page.restart) items = []
      await parseInto(items, page.items)
    }
    const order = reader.order()
    return order === null ? items : Array.from(order, (i) => items[i])
  } finally {
    reader.close()
  }
}

/** Async iterator of the pages of a run; leaving the loop early stops the fetch. */
async function* pages(options) {
  const reader = native.openPages(options)
  try {
    for (;;) {
      const page = await reader.next()
      if (page === null) return
      page.items = await parseInto([], page.items)
      yield page
    }
  } finally {
    reader.close()
  }
}

/** One item by id; the error's code is NOT_FOUND when there is none. */
async function getContent(id, options) {
  return JSON.parse((await native.getContentJson(id, options)).toString('utf8'))
}

/** A snapshot file's header and items, checked. */
async function loadSnapshot(path) {
  const snapshot = await native.loadSnapshotJson(path)
  return { header: snapshot.header, items: await parseInto([], snapshot.items) }
}

exports.fetchContent = fetchContent
exports.pages = pages
exports.getContent = getContent
exports.pullSnapshot = native.pullSnapshot
exports.loadSnapshot = loadSnapshot
exports.writeEngineFiles = native.writeEngineFiles
exports.collectionNames = native.collectionNames
