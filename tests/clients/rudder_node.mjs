// @rudderstack/rudder-sdk-node pointed at parcours: node rudder_node.mjs HOST WRITE_KEY PREFIX
// It sends gzip JSON with Content-Type application/x-www-form-urlencoded.
import Analytics from '@rudderstack/rudder-sdk-node'

const [host, writeKey, p] = process.argv.slice(2)
const client = new Analytics(writeKey, { dataPlaneUrl: host, flushAt: 100, flushInterval: 60000, gzip: true, retryCount: 0, logLevel: 'error' })
// Calls 150 ms apart: the skew correction (receivedAt − (sentAt − originalTimestamp))
// folds each request's transit time into its events, and the first request of a fresh
// process is slow (connection, gzip, JIT); 5 ms apart, page and screen could swap.
const tick = () => new Promise((r) => setTimeout(r, 150))
client.page({ anonymousId: `${p}-anon`, category: 'Docs', name: 'Pricing', properties: { path: '/pricing' } }); await tick()
client.screen({ anonymousId: `${p}-anon`, category: 'Start', name: 'Home' }); await tick()
client.identify({ userId: `${p}-user`, anonymousId: `${p}-anon`, traits: { email: `${p}@example.com`, plan: 'pro' } }); await tick()
client.track({ userId: `${p}-user`, event: 'Order Completed', properties: { revenue: 42.5, currency: 'EUR' } }); await tick()
client.group({ userId: `${p}-user`, groupId: `${p}-account`, traits: { name: 'Acme' } }); await tick()
client.alias({ userId: `${p}-user`, previousId: `${p}-crm` })
try {
  await client.flush()
} catch (err) {
  console.error('rudder-node error:', err)
  process.exit(1)
}
process.exit(0)
