import type { EvidenceBundle } from '@aos/logs-domain';
import { sampleBundle, SAMPLE_TRACE_ID } from '../../testing/sample-bundle';
import { renderEvidenceHtml } from './evidence-document';
import { cssString, escapeHtml, html, trusted } from './html';

const XSS = `<script>alert("x")</script>`;
const IMG = `"><img src=x onerror=alert(1)>`;

/** Markup the document may contain: everything else from data must appear escaped. */
const rawMarkupFrom = (doc: string) => ({
  scripts: doc.match(/<script/gi) ?? [],
  imgs: doc.match(/<img/gi) ?? [],
});

describe('renderEvidenceHtml', () => {
  it('escapes every value of the bundle: a step type, a reason or a title holding markup stays text', () => {
    const b = sampleBundle('soc2', 5, 2);
    b.trace_evidence.steps[1].step_type = XSS;
    b.trace_evidence.steps[3].level = IMG;
    b.trace_evidence.steps[4].timestamp = `</td></tr></table>${XSS}`;
    b.policy_context.violation_reason = XSS;
    b.policy_context.thresholds = { [XSS]: IMG };
    b.policy_context.policies = [{ rule: XSS }];
    b.run_context.agent_name = IMG;
    b.run_context.termination_reason = XSS;
    b.incident_context!.title = XSS;
    b.control_mappings![0].title = XSS;
    b.control_mappings![1].evidence = [IMG];
    b.attestation_statement = XSS;
    b.integrity.algorithm = IMG;
    const doc = renderEvidenceHtml(b);
    expect(rawMarkupFrom(doc)).toEqual({ scripts: [], imgs: [] });
    expect(doc).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(doc).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(doc).not.toContain('</td></tr></table>&lt;');
  });

  it('escapes the executive fields', () => {
    const b = sampleBundle('executive', 3, 1);
    b.incident_summary = XSS;
    b.business_impact = IMG;
    b.recommended_actions = [XSS, IMG];
    b.risk_level = `critical" style="x` as EvidenceBundle['risk_level'];
    const doc = renderEvidenceHtml(b);
    expect(rawMarkupFrom(doc)).toEqual({ scripts: [], imgs: [] });
    // An unknown risk level never reaches the class attribute.
    expect(doc).not.toContain('style="x');
    expect(doc).toContain('class="badge risk-medium"');
  });

  it('forbids scripts and every fetch in the document itself (CSP), and keeps the footer text CSS-safe', () => {
    const b = sampleBundle('evidence', 2, 1);
    b.run_context.trace_id = `abc"; } body { display: none } </style><script>x</script>`;
    const doc = renderEvidenceHtml(b);
    expect(doc).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`);
    const style = doc.slice(doc.indexOf('<style>'), doc.indexOf('</style>'));
    // The footer's text stays one CSS string: no quote, brace or angle bracket gets through.
    const footer = /@bottom-left \{ content: "([^"]*)";/.exec(style);
    expect(footer?.[1]).toBe('AOS Logs · evidence bundle · trace abc;  body  display: none  /stylescriptx/script');
    expect(style).not.toContain('<script');
    expect(doc.match(/<\/style>/g)).toHaveLength(1);
  });

  it('lays out a cover with trace, tenant, bundle type and generation time', () => {
    const b = sampleBundle('evidence');
    const doc = renderEvidenceHtml(b);
    const cover = doc.slice(doc.indexOf('<div class="cover">'), doc.indexOf('<div class="page-break">'));
    expect(cover).toContain(SAMPLE_TRACE_ID);
    expect(cover).toContain(b.run_context.tenant_id);
    expect(cover).toContain('<td>evidence</td>');
    expect(cover).toContain(b.generated_at);
    expect(cover).toContain(b.integrity.content_hash!);
    expect(doc).toContain(`<title>Evidence bundle: trace ${SAMPLE_TRACE_ID}</title>`);
  });

  it('lists every step with its hash and highlights the inflection point and failed steps', () => {
    const b = sampleBundle('evidence', 50, 37);
    b.integrity.failed_steps = [12];
    b.integrity.verified = false;
    const doc = renderEvidenceHtml(b);
    for (const s of b.trace_evidence.steps) expect(doc).toContain(s.content_hash);
    const inflection = doc.match(/<tr class="inflection"><td class="num">(\d+)<\/td>/g) ?? [];
    expect(inflection).toEqual(['<tr class="inflection"><td class="num">37</td>']);
    expect(doc).toContain('<tr class="hash-failed"><td class="num">12</td>');
    expect(doc).toContain('NOT VERIFIED');
    expect(doc).toContain('<tr><th>Steps failing their hash</th><td>12</td></tr>');
    expect(doc).toContain(b.integrity.computed_hash);
  });

  it('explains how to verify: JCS, sha256 of the five step fields, the trace hash over the step hashes, a command', () => {
    const doc = renderEvidenceHtml(sampleBundle('evidence'));
    const verify = doc.slice(doc.indexOf('<section id="verify">'));
    expect(verify).toContain('RFC 8785');
    expect(verify).toContain('SHA-256');
    for (const f of ['step_index', 'step_type', 'input_data', 'output_data', 'timestamp']) expect(verify).toContain(`<code>${f}</code>`);
    expect(verify).toContain(`/api/v1/logs/llm-runs/${SAMPLE_TRACE_ID}/verify`);
    expect(verify).toContain("sha256(hashes.join(''))");
  });

  it('adds the SOC2 control table and attestation, and the executive summary, only to their bundles', () => {
    const soc2 = renderEvidenceHtml(sampleBundle('soc2'));
    for (const c of ['CC7.2', 'CC7.3', 'CC7.4']) expect(soc2).toContain(`<strong>${c}</strong>`);
    expect(soc2).toContain('<div class="attestation">');
    const exec = renderEvidenceHtml(sampleBundle('executive'));
    expect(exec).toContain('Summary for decision makers');
    expect(exec).toContain('class="badge risk-high">HIGH');
    expect(exec).toContain('<li>Review the refund with the finance team.</li>');
    const evidence = renderEvidenceHtml(sampleBundle('evidence'));
    expect(evidence).not.toContain('CC7.2');
    expect(evidence).not.toContain('Summary for decision makers');
  });

  it('renders a bundle without steps, violation or incident', () => {
    const b = sampleBundle('evidence', 0);
    b.policy_context = { ...b.policy_context, violated_policy_id: null, violation_step_index: null, violation_reason: null, violation_timestamp: null };
    b.incident_context = null;
    const doc = renderEvidenceHtml(b);
    expect(doc).toContain('No policy violation was recorded for this run.');
    expect(doc).toContain('No step is marked as the inflection point.');
    expect(doc).not.toContain('<section id="incident">');
  });
});

describe('html', () => {
  it('escapes interpolations, passes nested templates and arrays through, drops null and false', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p>${'a & b'} ${inner} ${[html`<i>1</i>`, '<2>']} ${null}${undefined}${false}</p>`.value).toBe(
      '<p>a &amp; b <b>&lt;i&gt;</b> <i>1</i>&lt;2&gt; </p>',
    );
    expect(html`${trusted('<hr>')}`.value).toBe('<hr>');
    expect(escapeHtml(`'"\`&<>`)).toBe('&#39;&quot;&#96;&amp;&lt;&gt;');
  });

  it('keeps only safe characters in a CSS string', () => {
    expect(cssString('trace 0194-ab · x')).toBe('"trace 0194-ab · x"');
    expect(cssString('a"; } </style>\\')).toBe('"a;  /style"');
  });
});
