/** `livectl keys create|list|revoke`, each one function over the catalog. */
import {type CatalogOptions, catalogOptions, withCatalog} from '../catalog/connection.js'
import {type CreatedStreamKey, createStreamKey, listStreamKeys, revokeStreamKey, type StreamKeyInfo} from './keys.js'

export function createKey(options: CatalogOptions & {name: string}): Promise<CreatedStreamKey> {
  return withCatalog(catalogOptions(options), (catalog) => createStreamKey(catalog, options.name))
}

export function listKeys(options: CatalogOptions): Promise<StreamKeyInfo[]> {
  return withCatalog(catalogOptions(options), (catalog) => listStreamKeys(catalog))
}

export function revokeKey(options: CatalogOptions & {name: string}): Promise<StreamKeyInfo> {
  return withCatalog(catalogOptions(options), (catalog) => revokeStreamKey(catalog, options.name))
}
