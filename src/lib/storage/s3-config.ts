/**
 * S3 settings other modules need without loading the AWS SDK (about 0.2 s of start-up): the SDK
 * itself is imported only when an S3 storage or a CloudFront client is actually opened.
 */

/** Objects above this go up in parallel parts. */
export const MULTIPART_THRESHOLD_BYTES = 16 * 1024 * 1024
export const MULTIPART_PART_BYTES = 8 * 1024 * 1024
export const MULTIPART_QUEUE = 4

/** The SDK prints warnings on the console unless given a logger; livectl reports failures itself. */
export const QUIET_LOGGER = {trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined}
