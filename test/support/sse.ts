/** A server-sent events client for tests: opens a stream with fetch and parses its events as they come. */

export interface SseEvent {
  id?: string
  event: string
  data: string
}

export interface SseStream {
  status: number
  headers: Headers
  events: SseEvent[]
  /** Lines starting with ":" (heartbeats). */
  comments: string[]
  retry?: number
  /** Resolves when the server ends the stream. */
  ended: Promise<void>
  close(): void
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const controller = new AbortController()
  const response = await fetch(url, {headers: {accept: 'text/event-stream', ...headers}, signal: controller.signal})
  const stream: SseStream = {status: response.status, headers: response.headers, events: [], comments: [], ended: Promise.resolve(), close: () => controller.abort()}
  if (!response.ok || !response.body) return stream
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  stream.ended = (async () => {
    let buffer = ''
    let current: Partial<SseEvent> & {data?: string} = {}
    try {
      for (;;) {
        const {value, done} = await reader.read()
        if (done) return
        buffer += value
        let newline: number
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).replace(/\r$/, '')
          buffer = buffer.slice(newline + 1)
          if (line === '') {
            if (current.data !== undefined) stream.events.push({id: current.id, event: current.event ?? 'message', data: current.data})
            current = {}
          } else if (line.startsWith(':')) {
            stream.comments.push(line.slice(1).trim())
          } else {
            const colon = line.indexOf(':')
            const field = colon < 0 ? line : line.slice(0, colon)
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
            if (field === 'data') current.data = current.data === undefined ? value : `${current.data}\n${value}`
            else if (field === 'id') current.id = value
            else if (field === 'event') current.event = value
            else if (field === 'retry') stream.retry = Number(value)
          }
        }
      }
    } catch {
      // Closed by us.
    }
  })()
  return stream
}
