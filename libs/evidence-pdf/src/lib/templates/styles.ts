import { cssString } from './html';

/**
 * Print CSS for A4: margins, a running footer with the trace id, bundle type and
 * "Page N of M" (CSS page-margin boxes, rendered by Chromium itself), tables
 * whose header repeats on every page and whose rows never split.
 */
export function printCss(footer: string): string {
  return `
@page {
  size: A4;
  margin: 15mm 12mm 16mm 12mm;
  @bottom-left { content: ${cssString(footer)}; font: 7pt 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; color: #666; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font: 7pt 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; color: #333; }
}
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; font: 9pt/1.4 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; color: #1a1a1a; }
h1 { font-size: 20pt; margin: 0 0 4mm; }
h2 { font-size: 13pt; margin: 7mm 0 3mm; padding-bottom: 1mm; border-bottom: 0.6pt solid #999; break-after: avoid; }
h3 { font-size: 10.5pt; margin: 4mm 0 2mm; break-after: avoid; }
p { margin: 0 0 2.5mm; }
code, pre, .mono { font-family: 'DejaVu Sans Mono', 'Liberation Mono', monospace; }
.hash { font-family: 'DejaVu Sans Mono', 'Liberation Mono', monospace; font-size: 6.1pt; white-space: nowrap; }
.hash-lg { font-family: 'DejaVu Sans Mono', 'Liberation Mono', monospace; font-size: 8pt; white-space: nowrap; }
pre { font-size: 7pt; line-height: 1.35; background: #f4f4f4; border: 0.5pt solid #ddd; padding: 2.5mm 3mm; white-space: pre-wrap; word-break: break-all; break-inside: avoid; margin: 0 0 3mm; }
section { break-inside: auto; }
.page-break { break-before: page; }

.cover { min-height: 230mm; display: flex; flex-direction: column; }
.cover .brand { font-size: 8pt; letter-spacing: 1.5pt; text-transform: uppercase; color: #555; margin-bottom: 18mm; }
.cover .subtitle { font-size: 11pt; color: #444; margin-bottom: 8mm; }
.cover .note { margin-top: auto; font-size: 8pt; color: #444; border-top: 0.5pt solid #bbb; padding-top: 3mm; }
.toc { margin: 6mm 0 0; padding-left: 5mm; font-size: 9pt; }

table { width: 100%; border-collapse: collapse; margin: 0 0 3mm; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
th, td { text-align: left; vertical-align: top; padding: 1.2mm 1.6mm; border-bottom: 0.4pt solid #d6d6d6; }
th { background: #eceff3; font-weight: bold; font-size: 7.5pt; }
table.kv th { width: 44mm; background: transparent; font-size: 8.5pt; color: #333; }
table.kv td { font-size: 8.5pt; }
table.timeline { font-size: 6.8pt; }
table.timeline td, table.timeline th { padding: 0.8mm 1mm; white-space: nowrap; }
table.timeline td.num { text-align: right; }
tr.inflection td { background: #fde3e1; font-weight: bold; border-top: 1pt solid #c62828; border-bottom: 1pt solid #c62828; }
tr.inflection td:first-child { border-left: 2.5pt solid #c62828; }
tr.hash-failed td { background: #fff3cd; }
.tag { display: inline-block; white-space: nowrap; padding: 0 1.4mm; border-radius: 1mm; font-size: 6.4pt; font-weight: bold; letter-spacing: 0.3pt; text-transform: uppercase; }
.tag.inflection { background: #c62828; color: #fff; }
.tag.failed { background: #b26a00; color: #fff; }
.level-error { color: #b71c1c; font-weight: bold; }
.level-warning { color: #8a5a00; }

.badge { display: inline-block; padding: 0.6mm 2.5mm; border-radius: 1.2mm; font-weight: bold; font-size: 9pt; }
.badge.ok { background: #e3f4e6; color: #1b5e20; border: 0.6pt solid #2e7d32; }
.badge.bad { background: #fde3e1; color: #b71c1c; border: 0.6pt solid #c62828; }
.risk-low { background: #e3f4e6; color: #1b5e20; border: 0.6pt solid #2e7d32; }
.risk-medium { background: #fff3cd; color: #7a4f00; border: 0.6pt solid #b26a00; }
.risk-high { background: #fde3e1; color: #b71c1c; border: 0.6pt solid #c62828; }
.risk-critical { background: #b71c1c; color: #fff; border: 0.6pt solid #7f0000; }
.callout { border-left: 2.5pt solid #1f4e79; background: #eef3f8; padding: 2.5mm 3.5mm; margin: 0 0 3mm; break-inside: avoid; }
.callout.alert { border-left-color: #c62828; background: #fdf0ef; }
.attestation { border: 0.8pt solid #1f4e79; padding: 4mm 5mm; margin: 2mm 0 4mm; font-size: 9.5pt; break-inside: avoid; }
.muted { color: #666; }
ul, ol { margin: 0 0 3mm; padding-left: 5.5mm; }
li { margin-bottom: 1mm; }
`;
}
