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

/**
 * Async iterator of the pages of a run. Leaving the loop early (`return()`) stops the fetch at
 * once, a request in flight included, and a `next()` still waiting then settles as done. Not an
 * async generator: a generator would queue `return()` behind that `next()`, and its suspended
 * frame would keep the page before last alive while the next one is parsed.
 */
function pages(options) {
  const reader = native.openPages(options)
  let done = false
  const end = { value: undefined, done: true }
  const finish = () => {
    done = true
    reader.close()
  }
  const step = async () => {
    if (done) return end
    try {
      const page = await reader.next()
      if (page === null || done) {
        finish()
        return end
      }
      page.items = await parseInto([], page.items)
      return { value: page, done: false }
    } catch (error) {
      finish()
      throw error
    }
  }
  // Each next() starts after the one before it has settled, so pages come in order.
  let queue = Promise.resolve(end)
  return {
    [Symbol.asyncIterator]() {
      return this
    },
    next() {
      return (queue = queue.then(step, step))
    },
    return(value) {
      finish()
      const ended = () => ({ value, done: true })
      return (queue = queue.then(ended, ended))
    },
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
