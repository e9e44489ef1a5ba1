// @segment/analytics-node pointed at parcours: node segment_node.mjs HOST WRITE_KEY PREFIX
import { Analytics } from '@segment/analytics-node'

const [host, writeKey, p] = process.argv.slice(2)
const analytics = new Analytics({ writeKey, host, flushAt: 6, maxRetries: 1 })
let failed = false
analytics.on('error', (err) => { console.error('segment-node error:', err); failed = true })
// One call at a time, in order: the library stamps each with the current time.
// Calls 150 ms apart: the skew correction (receivedAt − (sentAt − originalTimestamp))
// folds each request's transit time into its events, and the first request of a fresh
// process is slow (connection, gzip, JIT); 5 ms apart, page and screen could swap.
const tick = () => new Promise((r) => setTimeout(r, 150))
analytics.page({ anonymousId: `${p}-anon`, category: 'Docs', name: 'Pricing', properties: { path: '/pricing' } }); await tick()
analytics.screen({ anonymousId: `${p}-anon`, category: 'Start', name: 'Home' }); await tick()
analytics.identify({ userId: `${p}-user`, anonymousId: `${p}-anon`, traits: { email: `${p}@example.com`, plan: 'pro' } }); await tick()
analytics.track({ userId: `${p}-user`, event: 'Order Completed', properties: { revenue: 42.5, currency: 'EUR' } }); await tick()
analytics.group({ userId: `${p}-user`, groupId: `${p}-account`, traits: { name: 'Acme' } }); await tick()
analytics.alias({ userId: `${p}-user`, previousId: `${p}-crm` })
await analytics.closeAndFlush({ timeout: 10000 })
process.exit(failed ? 1 : 0)
