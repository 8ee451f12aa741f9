#!/usr/bin/env bash
# Push a camera (or any file or device ffmpeg reads) to `livectl ingest` with a stream key.
#
#   livectl keys create studio-a                 # prints the key once
#   livectl ingest --to s3://media-bucket/live   # on the ingest machine
#   STREAM_KEY=... examples/live/ffmpeg-push.sh rtmp://ingest.example.com:1935 /dev/video0
#   STREAM_KEY=... examples/live/ffmpeg-push.sh rtmp://127.0.0.1:1935 talk.mp4
#   DRY_RUN=1 ...                                # prints the ffmpeg command instead
#
# What ingest wants from a broadcaster: H.264 (no B-frames keeps latency low), a keyframe every
# 1-2 s, AAC audio at 48 kHz, constant frame rate; it encodes the live ladder itself.
set -euo pipefail

server="${1:?usage: STREAM_KEY=KEY ffmpeg-push.sh rtmp://HOST:PORT INPUT}"
input="${2:?usage: STREAM_KEY=KEY ffmpeg-push.sh rtmp://HOST:PORT INPUT}"
key="${STREAM_KEY:?set STREAM_KEY (livectl keys create NAME prints one)}"

if [ -e "$input" ] && [ ! -c "$input" ]; then
  source_args=(-re -i "$input")                                 # a file: sent in real time
else
  source_args=(-f v4l2 -framerate 30 -video_size 1280x720 -i "$input" -f pulse -i default)   # a camera and the default microphone
fi

command=(ffmpeg -hide_banner -loglevel warning "${source_args[@]}"
  -c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -g 60 -keyint_min 60 -b:v 4500k -maxrate 4500k -bufsize 9000k
  -c:a aac -b:a 128k -ar 48000
  -f flv "$server/live/$key")

if [ -n "${DRY_RUN:-}" ]; then
  printf '%q ' "${command[@]}"
  echo
  exit 0
fi
exec "${command[@]}"
