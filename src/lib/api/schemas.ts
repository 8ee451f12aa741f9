/** JSON Schemas of the API: they validate requests, speed up responses, and make the OpenAPI document. */
import {COMMENT_LIMITS} from '../catalog/comments.js'

const idPattern = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        status: {type: 'integer'},
        code: {type: 'string'},
        message: {type: 'string'},
      },
      required: ['status', 'code', 'message'],
    },
  },
  required: ['error'],
} as const

export const frameSchema = {
  $id: 'Frame',
  type: 'object',
  properties: {
    type: {type: 'string', enum: ['video', 'audio']},
    index: {type: 'integer'},
    start: {type: 'number', description: 'Seconds from the start of the video.'},
    duration: {type: 'number'},
    rendition: {type: 'string'},
    width: {type: 'integer'},
    height: {type: 'integer'},
    bandwidth: {type: 'integer', description: 'Peak bits per second of the rendition.'},
    codecs: {type: 'string'},
    url: {type: 'string'},
    initUrl: {type: 'string'},
  },
  required: ['type', 'index', 'start', 'duration', 'rendition', 'bandwidth', 'codecs', 'url', 'initUrl'],
} as const

export const commentSchema = {
  $id: 'Comment',
  type: 'object',
  properties: {
    id: {type: 'string'},
    video_id: {type: 'string'},
    author: {type: 'string'},
    data: {type: 'string'},
    at: {type: ['number', 'null'], description: 'Seconds of media time the comment refers to, or null.'},
    cursor: {type: 'string', description: 'Server order: pass as `after` to list (or stream) what came after this comment.'},
    created_at: {type: 'string', format: 'date-time'},
  },
  required: ['id', 'video_id', 'author', 'data', 'at', 'cursor', 'created_at'],
} as const

export const videoSchema = {
  $id: 'Video',
  type: 'object',
  properties: {
    id: {type: 'string'},
    title: {type: 'string'},
    status: {type: 'string', enum: ['processing', 'ready', 'live', 'ended', 'failed']},
    statusReason: {type: 'string', description: 'Why the video failed (status failed).'},
    progress: {type: 'number', minimum: 0, maximum: 1, description: 'While processing: how far its job (transcode, segment, publish) has got.'},
    durationSeconds: {type: 'number'},
    createdAt: {type: 'string'},
    updatedAt: {type: 'string'},
    hlsUrl: {type: ['string', 'null']},
    dashUrl: {type: ['string', 'null']},
    lowLatency: {type: 'boolean', description: 'The URLs are the low-latency origin of a live video (LL-HLS, LL-DASH): play with low-latency settings.'},
    renditions: {
      type: 'array',
      items: {
        type: 'object',
        properties: {name: {type: 'string'}, width: {type: 'integer'}, height: {type: 'integer'}, bandwidth: {type: 'integer'}, codecs: {type: 'string'}},
      },
    },
  },
  required: ['id', 'title', 'status', 'durationSeconds', 'createdAt', 'updatedAt'],
} as const

export const videoTimeQuery = {
  type: 'object',
  properties: {
    id: {type: 'string', pattern: idPattern},
    device: {type: 'string', pattern: '^[a-z][a-z0-9_-]{0,31}$'},
    offset: {type: 'number', default: 0, description: 'Seconds from the start; negative counts back from the end (the live edge).'},
    duration: {type: 'number', exclusiveMinimum: 0, maximum: 300, default: 30, description: 'Seconds of media to return (at most 300).'},
    bandwidth: {type: 'number', exclusiveMinimum: 0, description: 'Client bandwidth hint in kbps.'},
  },
  required: ['id', 'device'],
  additionalProperties: false,
} as const

export const postCommentBody = {
  type: 'object',
  properties: {
    id: {type: 'string', pattern: idPattern, description: "The client's id: posting it again returns the first stored comment."},
    data: {type: 'string', minLength: COMMENT_LIMITS.dataMin, maxLength: COMMENT_LIMITS.dataMax},
    author: {type: 'string', minLength: COMMENT_LIMITS.authorMin, maxLength: COMMENT_LIMITS.authorMax},
    video_id: {type: 'string', pattern: idPattern},
    at: {type: ['number', 'null'], minimum: 0, maximum: COMMENT_LIMITS.atMaxSeconds, description: "Seconds of media time the comment refers to (the player's position)."},
  },
  required: ['data', 'author', 'video_id'],
  additionalProperties: false,
} as const

export const listCommentsQuery = {
  type: 'object',
  properties: {
    video_id: {type: 'string', pattern: idPattern},
    after: {type: 'string', maxLength: 64},
    limit: {type: 'integer', minimum: 1, maximum: 200, default: 50},
  },
  required: ['video_id'],
  additionalProperties: false,
} as const

export const listVideosQuery = {
  type: 'object',
  properties: {
    after: {type: 'string', pattern: idPattern},
    limit: {type: 'integer', minimum: 1, maximum: 500, default: 50},
  },
  additionalProperties: false,
} as const

export const idParams = {
  type: 'object',
  properties: {id: {type: 'string', pattern: idPattern}},
  required: ['id'],
} as const

export const commentStreamQuery = {
  type: 'object',
  properties: {
    video_id: {type: 'string', pattern: idPattern},
    after: {type: 'string', maxLength: 64, description: 'Start after this cursor instead of now (a Last-Event-ID header takes precedence).'},
  },
  required: ['video_id'],
  additionalProperties: false,
} as const

export const commentPageSchema = {
  type: 'object',
  properties: {comments: {type: 'array', items: {$ref: 'Comment#'}}, next: {type: ['string', 'null']}},
} as const

export const watchQuery = {
  type: 'object',
  properties: {
    player: {type: 'string', enum: ['auto', 'hls', 'dash', 'native'], default: 'auto', description: 'auto: hls.js where it runs, else native HLS.'},
    device: {type: 'string', pattern: '^[a-z][a-z0-9_-]{0,31}$', description: 'Device profile; default: from the screen and pointer.'},
  },
  additionalProperties: true,
} as const

export const indexQuery = {
  type: 'object',
  properties: {after: {type: 'string', pattern: idPattern}},
  additionalProperties: true,
} as const
