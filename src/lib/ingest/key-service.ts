/** `livectl keys create|list|revoke`, each one function over the catalog. */
import {withCatalog} from '../catalog/connection.js'
import type {CatalogOptions} from '../catalog/service.js'
import {type CreatedStreamKey, createStreamKey, listStreamKeys, revokeStreamKey, type StreamKeyInfo} from './keys.js'

export function createKey(options: CatalogOptions & {name: string}): Promise<CreatedStreamKey> {
  return withCatalog({url: options.db, dataDir: options.dataDir}, (catalog) => createStreamKey(catalog, options.name))
}

export function listKeys(options: CatalogOptions): Promise<StreamKeyInfo[]> {
  return withCatalog({url: options.db, dataDir: options.dataDir}, (catalog) => listStreamKeys(catalog))
}

export function revokeKey(options: CatalogOptions & {name: string}): Promise<StreamKeyInfo> {
  return withCatalog({url: options.db, dataDir: options.dataDir}, (catalog) => revokeStreamKey(catalog, options.name))
}
