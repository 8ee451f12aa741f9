/**
 * After packaging: every playlist and MPD must parse with the parsers players use (m3u8-parser,
 * mpd-parser), and every file they reference must exist.
 */
import {readdir, readFile} from 'node:fs/promises'
import path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import m3u8 from 'm3u8-parser'
import type {M3u8Manifest} from 'm3u8-parser'
import mpd from 'mpd-parser'
import type {MpdPlaylist} from 'mpd-parser'

import {ExternalError} from '../errors.js'
import type {PackageManifest} from './manifest.js'

/**
 * A playlist's contents. The URIs in it are copies: as parsed they are slices of the playlist's
 * text, and V8 keeps a whole string alive for as long as any slice of it lives. The live publisher
 * keeps every segment's name for the whole stream; found by the soak, its names held on to one
 * copy of the growing playlist each (82 MB for 2,000 segments, growing with the square of the
 * stream's length).
 */
export function parseM3u8(text: string): M3u8Manifest {
  const parser = new m3u8.Parser()
  parser.push(text)
  parser.end()
  const manifest = parser.manifest
  for (const segment of manifest.segments ?? []) {
    segment.uri = ownCopy(segment.uri)
    if (segment.map?.uri) segment.map.uri = ownCopy(segment.map.uri)
  }

  for (const playlist of manifest.playlists ?? []) playlist.uri = ownCopy(playlist.uri)
  return manifest
}

/** A string that shares no storage with the one it was cut from. */
export function ownCopy(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8')
}

/**
 * Whether a file exists under `dir`, by reading each directory once: a package references each of
 * its ~thousand files from both the HLS playlists and the MPD, and two stats per file cost more
 * than the parsing.
 */
function presenceChecker(dir: string): (relative: string) => Promise<boolean> {
  const listings = new Map<string, Promise<Set<string>>>()
  return async (relative) => {
    const parent = path.dirname(path.join(dir, relative))
    let listing = listings.get(parent)
    if (!listing) {
      listing = readdir(parent, {withFileTypes: true}).then(
        (entries) => new Set(entries.filter((entry) => !entry.isDirectory()).map((entry) => entry.name)),
        () => new Set<string>(),
      )
      listings.set(parent, listing)
    }

    return (await listing).has(path.basename(relative))
  }
}

/** Problems found in a package directory; empty when it is sound. */
async function findPackageProblems(dir: string, manifest: PackageManifest): Promise<string[]> {
  const problems: string[] = []
  const exists = presenceChecker(dir)
  const requireFile = async (relative: string, referencedBy: string) => {
    if (relative.includes('..') || path.isAbsolute(relative) || /^[a-z]+:/i.test(relative)) {
      problems.push(`${referencedBy} references ${relative}, outside the package`)
    } else if (!(await exists(relative))) {
      problems.push(`${referencedBy} references ${relative}, which does not exist`)
    }
  }

  const tracks = [...manifest.renditions, ...(manifest.audio ? [manifest.audio] : [])]

  if (manifest.hlsMaster) {
    const master = parseM3u8(await readFile(path.join(dir, manifest.hlsMaster), 'utf8'))
    const variants = master.playlists ?? []
    // An audio-only package's one variant is its audio, which has no RESOLUTION.
    const audioOnly = manifest.renditions.length === 0 && manifest.audio !== undefined
    const expectedVariants = audioOnly ? 1 : manifest.renditions.length
    if (variants.length !== expectedVariants) {
      problems.push(`${manifest.hlsMaster} lists ${variants.length} variants, expected ${expectedVariants}`)
    }

    for (const variant of variants) {
      const {BANDWIDTH, RESOLUTION, CODECS} = variant.attributes
      if (!BANDWIDTH || (!RESOLUTION && !audioOnly) || !CODECS) problems.push(`${manifest.hlsMaster}: ${variant.uri} lacks BANDWIDTH, RESOLUTION or CODECS`)
    }

    const mediaPlaylists = [
      ...variants.map((variant) => variant.uri),
      ...Object.values(master.mediaGroups?.AUDIO ?? {}).flatMap((group) => Object.values(group).map((entry) => entry.uri ?? '')),
    ]
    for (const playlist of mediaPlaylists) {
      await requireFile(playlist, manifest.hlsMaster)
      if (!(await exists(playlist))) continue
      const media = parseM3u8(await readFile(path.join(dir, playlist), 'utf8'))
      if (!media.endList) problems.push(`${playlist} has no #EXT-X-ENDLIST`)
      if (media.segments.length === 0) problems.push(`${playlist} lists no segments`)
      const maps = new Set(media.segments.map((segment) => segment.map?.uri).filter((uri): uri is string => Boolean(uri)))
      if (maps.size === 0) problems.push(`${playlist} has no EXT-X-MAP init segment`)
      for (const map of maps) await requireFile(map, playlist)
      for (const segment of media.segments) await requireFile(segment.uri, playlist)
      const track = tracks.find((candidate) => candidate.playlist === playlist)
      if (track && track.segments.length !== media.segments.length) {
        problems.push(`${playlist} lists ${media.segments.length} segments, the package has ${track.segments.length}`)
      }
    }
  }

  if (manifest.dashManifest) {
    const manifestPath = path.join(dir, manifest.dashManifest)
    const parsed = mpd.parse(await readFile(manifestPath, 'utf8'), {manifestUri: pathToFileURL(manifestPath).href})
    const playlists: MpdPlaylist[] = [
      ...parsed.playlists,
      ...Object.values(parsed.mediaGroups.AUDIO ?? {}).flatMap((group) => Object.values(group).flatMap((entry) => entry.playlists)),
    ]
    if (playlists.length !== tracks.length) problems.push(`${manifest.dashManifest} has ${playlists.length} representations, expected ${tracks.length}`)
    for (const playlist of playlists) {
      const name = `${manifest.dashManifest} representation ${String(playlist.attributes.NAME)}`
      const track = tracks.find((candidate) => candidate.id === String(playlist.attributes.NAME))
      if (track && track.segments.length !== playlist.segments.length) {
        problems.push(`${name} lists ${playlist.segments.length} segments, the package has ${track.segments.length}`)
      }

      const referenced = new Set<string>()
      for (const segment of playlist.segments) {
        referenced.add(segment.resolvedUri)
        if (segment.map) referenced.add(segment.map.resolvedUri)
      }

      for (const uri of referenced) await requireFile(path.relative(dir, fileURLToPath(uri)), name)
    }
  }

  return problems
}

export async function verifyPackage(dir: string, manifest: PackageManifest): Promise<void> {
  const problems = await findPackageProblems(dir, manifest)
  if (problems.length > 0) {
    throw new ExternalError(`The package failed its check: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`)
  }
}
