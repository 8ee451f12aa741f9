import {Flags} from '@oclif/core'

import type {CatalogOptions} from '../lib/catalog/connection.js'
import type {StorageConfig} from '../lib/storage/open.js'

/** Flags of every command that uses the catalog. */
export const catalogFlags = {
  db: Flags.string({
    description: 'Catalog database: sqlite:PATH or mysql://user:pass@host:port/db [default: sqlite:DATA_DIR/catalog.db].',
    env: 'LIVECTL_DB',
  }),
}

/** Flags of every command that opens a storage. */
export const storageFlags = {
  's3-endpoint': Flags.string({description: 'S3-compatible endpoint (MinIO, Ceph, R2), path-style [default: AWS, or AWS_ENDPOINT_URL_S3].', env: 'LIVECTL_S3_ENDPOINT'}),
  'hdfs-user': Flags.string({description: 'WebHDFS user.name.', env: 'LIVECTL_HDFS_USER'}),
  'hdfs-delegation-token': Flags.string({description: 'WebHDFS delegation token (secured clusters).', env: 'LIVECTL_HDFS_DELEGATION_TOKEN'}),
}

/** Flags of the commands that hand out signed URLs (`serve`, `sign`). */
export const signingFlags = {
  'signing-keys': Flags.string({description: 'Keys for path-token signed media URLs, KID:SECRET[,KID2:SECRET2] (the first signs, all verify).', env: 'LIVECTL_SIGNING_KEYS'}),
  'signing-scheme': Flags.string({description: 'Token signature: hmac (HMAC-SHA256) or md5 (stock nginx secure_link).', env: 'LIVECTL_SIGNING_SCHEME', options: ['hmac', 'md5'], default: 'hmac'}),
  'cloudfront-key-pair-id': Flags.string({description: 'CloudFront key pair (public key) id for CloudFront signed URLs.', env: 'LIVECTL_CLOUDFRONT_KEY_PAIR_ID'}),
  'cloudfront-private-key': Flags.string({description: 'PEM file of the CloudFront private key.', env: 'LIVECTL_CLOUDFRONT_PRIVATE_KEY_FILE'}),
}

/** The one place catalog flags become the services' options. */
export function catalogOptionsFrom(flags: {db?: string}, dataDir: string): CatalogOptions {
  return {db: flags.db, dataDir}
}

/** The one place storage flags become the services' options. */
export function storageConfigFrom(flags: {'s3-endpoint'?: string; 'hdfs-user'?: string; 'hdfs-delegation-token'?: string}): StorageConfig {
  return {s3Endpoint: flags['s3-endpoint'], hdfsUser: flags['hdfs-user'], hdfsDelegationToken: flags['hdfs-delegation-token']}
}
