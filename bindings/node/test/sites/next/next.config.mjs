/** A static export; the addon is a native module, left to Node rather than bundled. */
export default { output: 'export', serverExternalPackages: ['@content-platform/fetch'] }
