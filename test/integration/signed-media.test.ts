/** `serve` with signed media URLs, and with media published to S3 (proxied, or straight from the storage/CDN base). */
import path from 'node:path'

import {CreateBucketCommand, PutBucketPolicyCommand, S3Client} from '@aws-sdk/client-s3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startApiServer, type RunningServer} from '../../src/lib/api/serve.js'
import {signScope} from '../../src/lib/cdn/sign.js'
import {registerPackage} from '../../src/lib/catalog/service.js'
import {publishPackage} from '../../src/lib/publish/publish.js'
import {runCli} from '../support/cli.js'
import {makeTempDir} from '../support/media.js'
import {runMotoSuites, startMoto, type MotoServer, useFakeAwsCredentials} from '../support/moto.js'
import {makePackage} from '../support/package.js'

let work: {dir: string; cleanup: () => Promise<void>}
let packageDir: string

beforeAll(async () => {
  work = await makeTempDir('livectl-signed-')
  ;({packageDir} = await makePackage(work.dir))
})

afterAll(async () => {
  await work?.cleanup()
})

describe('signed media URLs', () => {
  const keys = [{id: 'k2', secret: 'second-secret-0123456789'}, {id: 'k1', secret: 'first-secret-0123456789'}]
  let server: RunningServer

  beforeAll(async () => {
    const dataDir = path.join(work.dir, 'data')
    await registerPackage({dataDir, packageDir, id: 'talk'})
    server = await startApiServer({dataDir, host: '127.0.0.1', port: 0, tokenSigning: {scheme: 'hmac', keys, ttlSeconds: 3600}})
  })

  afterAll(async () => {
    await server?.close()
  })

  it('hands out signed URLs that work, and whose playlists resolve segments through the same token', async () => {
    const frames = await (await fetch(`${server.url}/video/time?id=talk&device=mobile`)).json() as Array<{url: string; initUrl: string}>
    expect(frames[0]?.url).toMatch(/\/t\/k2\.\d+\.[\w-]+\/media\/talk\/seg-/)
    expect((await fetch(frames[0]?.url as string)).status).toBe(200)
    expect((await fetch(frames[0]?.initUrl as string)).status).toBe(200)

    const video = await (await fetch(`${server.url}/videos/talk`)).json() as {hlsUrl: string}
    const master = await fetch(video.hlsUrl)
    expect(master.status).toBe(200)
    const mediaPlaylist = (await master.text()).split('\n').find((line) => line.endsWith('.m3u8')) as string
    const media = await fetch(new URL(mediaPlaylist, video.hlsUrl))
    const segment = (await media.text()).split('\n').find((line) => line.endsWith('.m4s')) as string
    expect((await fetch(new URL(segment, new URL(mediaPlaylist, video.hlsUrl)))).status).toBe(200)
  })

  it('refuses unsigned, expired, tampered and other-video URLs with 403, and accepts the rotated-out key', async () => {
    const now = Math.floor(Date.now() / 1000)
    const file = 'master.m3u8'
    const at = (token: string, id = 'talk') => fetch(`${server.url}/t/${token}/media/${id}/${file}`)
    expect((await fetch(`${server.url}/media/talk/${file}`)).status).toBe(403)
    const expired = await at(signScope('/media/talk/', now - 1, keys[0] as never))
    expect(expired.status).toBe(403)
    expect(await expired.json()).toMatchObject({error: {code: 'forbidden', message: 'The signed URL has expired'}})
    const valid = signScope('/media/talk/', now + 60, keys[0] as never)
    expect((await at(valid)).status).toBe(200)
    expect((await at(valid.replace(/.$/, (last) => (last === 'x' ? 'y' : 'x')))).status).toBe(403)
    expect((await at(signScope('/media/other/', now + 60, keys[0] as never))).status).toBe(403)
    expect((await at(signScope('/media/talk/', now + 60, keys[1] as never))).status).toBe(200)
    expect((await at(signScope('/media/talk/', now + 60, {id: 'k3', secret: 'unknown-secret-0123456789'}))).status).toBe(403)
  })

  it('`livectl sign` makes URLs the server accepts', async () => {
    const result = await runCli(['sign', `${server.url}/media/talk/master.m3u8`, '--expires', '10m', '--signing-keys', 'k1:first-secret-0123456789', '--json'])
    expect(result.exitCode).toBe(0)
    const signed = JSON.parse(result.stdout)
    expect(signed).toMatchObject({kind: 'token', url: `${server.url}/media/talk/master.m3u8`})
    expect((await fetch(signed.signedUrl)).status).toBe(200)
    const missing = await runCli(['sign', 'https://x/y'])
    expect(missing.exitCode).toBe(2)
    expect(missing.stderr).toMatch(/Nothing to sign with/)
  })
})

describe.runIf(runMotoSuites)('serving media published to S3', () => {
  let moto: MotoServer

  beforeAll(async () => {
    useFakeAwsCredentials()
    moto = await startMoto()
    const s3 = new S3Client({endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1'})
    await s3.send(new CreateBucketCommand({Bucket: 'media'}))
    // The CDN reads the bucket; here the test plays the CDN, anonymously.
    await s3.send(new PutBucketPolicyCommand({
      Bucket: 'media',
      Policy: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::media/*'}]}),
    }))
  })

  afterAll(async () => {
    await moto?.stop()
  })

  it('answers /video/time for a published video, proxying from S3 or pointing at the CDN base', async () => {
    const dataDir = path.join(work.dir, 'data-s3')
    await publishPackage({packageDir, to: 's3://media/vod', s3Endpoint: moto.endpoint, videoId: 'talk', dataDir})

    const proxied = await startApiServer({dataDir, host: '127.0.0.1', port: 0, s3Endpoint: moto.endpoint})
    const direct = await startApiServer({dataDir, host: '127.0.0.1', port: 0, mediaBaseUrl: `${moto.endpoint}/media/vod`})
    try {
      const viaApi = await (await fetch(`${proxied.url}/video/time?id=talk&device=tablet&offset=2&duration=2`)).json() as Array<{url: string; type: string}>
      const segment = await fetch(viaApi[0]?.url as string)
      expect(segment.status).toBe(200)
      expect(segment.headers.get('content-type')).toBe('video/iso.segment')
      const ranged = await fetch(viaApi[0]?.url as string, {headers: {range: 'bytes=0-7'}})
      expect(ranged.status).toBe(206)
      expect((await ranged.arrayBuffer()).byteLength).toBe(8)

      const viaCdn = await (await fetch(`${direct.url}/video/time?id=talk&device=tablet&offset=2&duration=2`)).json() as Array<{url: string}>
      expect(viaCdn[0]?.url).toBe(`${moto.endpoint}/media/vod/talk/${new URL(viaApi[0]?.url as string).pathname.split('/').pop()}`)
      expect((await fetch(viaCdn[0]?.url as string)).status).toBe(200)
    } finally {
      await proxied.close()
      await direct.close()
    }
  })
})
