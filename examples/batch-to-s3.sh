#!/usr/bin/env bash
# Every recording in a folder -> HLS + DASH on S3, catalogued, with the CloudFront cache of the
# changed manifests invalidated. Safe to re-run: published recordings are skipped, interrupted
# ones continue where they stopped. Exit code 0 only when every recording is published.
#
#   examples/batch-to-s3.sh ./recordings s3://media-bucket/vod E2ABCDEF123
#   DRY_RUN=1 examples/batch-to-s3.sh ./recordings s3://media-bucket/vod E2ABCDEF123   # says what it would do
#
# Environment: AWS credentials as the AWS SDK reads them; LIVECTL_DB=mysql://... for the shared
# catalog `serve` reads; LIVECTL_S3_ENDPOINT for an S3-compatible store; LIVECTL (default: livectl).
set -euo pipefail

folder="${1:?usage: batch-to-s3.sh FOLDER s3://BUCKET/PREFIX CLOUDFRONT_DISTRIBUTION_ID}"
to="${2:?usage: batch-to-s3.sh FOLDER s3://BUCKET/PREFIX CLOUDFRONT_DISTRIBUTION_ID}"
distribution="${3:?usage: batch-to-s3.sh FOLDER s3://BUCKET/PREFIX CLOUDFRONT_DISTRIBUTION_ID}"
livectl="${LIVECTL:-livectl}"

list="$(mktemp)"
trap 'rm -f "$list"' EXIT
find "$folder" -maxdepth 1 -type f \( -iname '*.mp4' -o -iname '*.mov' -o -iname '*.mkv' -o -iname '*.ts' \) | sort > "$list"
if [ ! -s "$list" ]; then
  echo "no recordings in $folder" >&2
  exit 0
fi

# Word splitting is wanted: LIVECTL may be "node /path/to/bin/run.js".
# shellcheck disable=SC2086
exec $livectl run --from-file "$list" --to "$to" \
  --ladder 1080p,720p,480p,144p --preset veryfast \
  --invalidate --cdn-distribution "$distribution" \
  ${DRY_RUN:+--dry-run} --json
