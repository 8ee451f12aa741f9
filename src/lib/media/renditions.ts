/**
 * The file `transcode` writes beside its renditions and `segment` reads, apart from transcode.ts so
 * that reading a package does not load the process runner.
 */
export const RENDITIONS_FILE = 'renditions.json'
