// Realistic LLM-run steps of a chosen size (about 2 KB of JSON each): chat
// messages with English text, tool calls with arguments and results, usage and
// provider metadata. Deterministic for a seed.
import { createHash } from 'node:crypto';

export const WORDS = `the customer asked about order invoice refund shipment delivery address account balance payment card
subscription plan upgrade downgrade cancel renewal discount coupon promotion warranty return policy exchange damaged
missing package tracking number carrier delayed estimate arrival support ticket escalation priority agent manager
review summary analysis report quarterly revenue forecast budget expense approval compliance audit evidence control
access permission role user admin password reset login session token expired verification identity document upload
contract clause liability indemnity termination notice renewal pricing tier usage quota limit exceeded overage charge
credit debit transaction pending settled failed retry timeout error service outage incident status page latency region
database query index migration backup restore snapshot cluster node replica failover deployment release version rollback
feature flag experiment cohort metric dashboard alert threshold anomaly detection model prompt response completion tool
function call argument result schema validation json field value missing invalid format date time zone currency amount
tax rate country state city postal code phone email message reply follow up schedule meeting calendar reminder task
project milestone deadline owner team member department finance legal security privacy data retention deletion request
consent cookie tracking analytics export download file attachment image text translation language english french german
please thanks could would should will can may might must need want check confirm update create delete list search find
show explain describe compare calculate estimate recommend suggest provide include exclude before after during while
because although however therefore also only still already again soon today yesterday tomorrow week month year`.split(/\s+/);

const TOOLS = ['search_orders', 'get_invoice', 'issue_refund', 'lookup_customer', 'query_kb', 'create_ticket', 'send_email', 'get_shipment_status'];
const MODELS = ['gpt-4o-2024-08-06', 'claude-3-5-sonnet-20241022', 'gpt-4o-mini', 'llama-3.1-70b-instruct'];
const STEP_TYPES = ['input', 'llm_call', 'tool_call', 'llm_call', 'policy_check', 'llm_call', 'tool_call', 'llm_call', 'output'];

/** mulberry32: small, fast, deterministic. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = (r, list) => list[Math.floor(r() * list.length)];

function sentence(r, words) {
  const out = [];
  for (let i = 0; i < words; i++) out.push(pick(r, WORDS));
  const s = out.join(' ');
  return s.charAt(0).toUpperCase() + s.slice(1) + '.';
}

function hexId(r, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(r() * 16)];
  return s;
}

export function uuidLike(r) {
  const h = hexId(r, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** UUIDv7 of a millisecond time and random bits (what the service generates). */
export function uuidv7(ms, r) {
  const t = Math.floor(ms).toString(16).padStart(12, '0');
  const h = hexId(r, 20);
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${h.slice(0, 3)}-${'89ab'[Math.floor(r() * 4)]}${h.slice(3, 6)}-${h.slice(6, 18)}`;
}

/**
 * One step as a client sends it (DESIGN.md 5), about `targetBytes` of JSON.
 * The last message is padded word by word until the step reaches the size.
 */
export function makeStep(r, stepIndex, timestampMs, targetBytes = 2048) {
  const type = stepIndex === 0 ? 'input' : STEP_TYPES[stepIndex % STEP_TYPES.length];
  const tokensIn = 200 + Math.floor(r() * 1800);
  const tokensOut = 20 + Math.floor(r() * 600);
  const step = {
    step_index: stepIndex,
    step_type: type,
    level: r() < 0.03 ? 'warning' : 'info',
    source: type === 'tool_call' ? 'tool-runtime' : 'agent-runtime',
    timestamp: new Date(timestampMs).toISOString(),
    tokens: type === 'llm_call' ? tokensIn + tokensOut : 0,
    cost_cents: type === 'llm_call' ? Math.ceil((tokensIn + tokensOut) / 400) : 0,
    duration_ms: 50 + Math.floor(r() * 3000),
    input_data: null,
    output_data: null,
    metadata: { request_id: uuidLike(r), provider: 'openai', region: pick(r, ['eu-west-1', 'us-east-1', 'ap-south-1']), attempt: 1 },
  };
  let pad;
  if (type === 'tool_call') {
    const tool = pick(r, TOOLS);
    step.input_data = {
      tool,
      call_id: `call_${hexId(r, 24)}`,
      arguments: { customer_id: uuidLike(r), order_id: `ORD-${Math.floor(r() * 1e8)}`, query: sentence(r, 8), limit: 10 },
    };
    step.output_data = {
      status: 'ok',
      rows: [
        { id: `ORD-${Math.floor(r() * 1e8)}`, status: pick(r, ['shipped', 'pending', 'delivered']), total: +(r() * 500).toFixed(2), currency: 'EUR', note: sentence(r, 12) },
        { id: `ORD-${Math.floor(r() * 1e8)}`, status: pick(r, ['shipped', 'pending', 'delivered']), total: +(r() * 500).toFixed(2), currency: 'EUR', note: sentence(r, 12) },
      ],
      summary: '',
    };
    pad = (s) => (step.output_data.summary = s);
  } else {
    const model = pick(r, MODELS);
    step.input_data = {
      model,
      temperature: 0.2,
      max_tokens: 1024,
      messages: [
        { role: 'system', content: 'You are a support agent for an online store. ' + sentence(r, 18) },
        { role: 'user', content: sentence(r, 30) },
        { role: 'assistant', content: sentence(r, 20) },
        { role: 'user', content: '' },
      ],
    };
    step.output_data = {
      id: `chatcmpl-${hexId(r, 24)}`,
      model,
      finish_reason: 'stop',
      message: { role: 'assistant', content: sentence(r, 40) },
      usage: { prompt_tokens: tokensIn, completion_tokens: tokensOut, total_tokens: tokensIn + tokensOut },
    };
    pad = (s) => (step.input_data.messages[3].content = s);
  }
  const words = [];
  let size = JSON.stringify(step).length;
  while (size < targetBytes) {
    const w = pick(r, WORDS);
    words.push(w);
    size += w.length + 1;
  }
  pad(words.join(' '));
  return step;
}

/**
 * Step hash of DESIGN.md 4 with the service's own code (logs-domain as built),
 * so the COPY baseline stores the very hashes the API computes.
 */
export function stepHasher(domain) {
  return (step) => domain.computeStepHash(step);
}

export function sha256Hex(s) {
  return createHash('sha256').update(s).digest('hex');
}

/** A CSV field (COPY ... WITH (FORMAT csv)): NULL is an unquoted empty field. */
export function csvField(v) {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return '"' + s.replace(/"/g, '""') + '"';
}
