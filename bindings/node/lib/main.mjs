// The ES module face of main.cjs: one implementation for both module systems.
import api from './main.cjs'

export const {
  fetchContent,
  pages,
  openPages,
  getContent,
  pullSnapshot,
  loadSnapshot,
  writeEngineFiles,
} = api
