/** `GET /clock`: the origin's time for players (DASH UTCTiming http-xsdate, also fine for http-iso). */
import type {FastifyInstance} from 'fastify'

export async function clockRoutes(app: FastifyInstance): Promise<void> {
  app.get('/clock', async (_request, reply) => reply.header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(new Date().toISOString()))
}
