import type {
  Assignment,
  BoundaryEvent,
  CaseTypeDefinition,
  DateSpec,
  JoinStep,
  Step,
  Transition,
  Transitions,
} from '../engine/types';

/** Steps to emphasise: where a case is now, and where it has been. */
export interface Highlight {
  currentSteps: string[];
  visited?: string[];
}

type NodeKind = 'start' | 'end' | 'timer' | Step['type'];

interface DiagramNode {
  key: string;
  kind: NodeKind;
  stepId?: string;
  /** First line is the node's name. */
  lines: string[];
  tooltip?: string;
}

interface DiagramEdge {
  from: string;
  to: string;
  label: string;
  dashed: boolean;
}

interface DiagramModel {
  nodes: DiagramNode[];
  edges: DiagramEdge[];
}

const START = 'start';
/** End nodes are one per final status (`end:WON`), so the picture shows how the case can end. */
const endKey = (status: string | undefined): string => `end:${status ?? ''}`;

function assertUnreachable(value: never): never {
  throw new Error(`Unhandled step: ${JSON.stringify(value)}`);
}

/** One line per boundary event of a step, e.g. "on message reply (interrupting)". */
function boundaryText(event: BoundaryEvent): string {
  const what = event.message !== undefined ? `message ${event.message}` : `after ${event.after ?? ''}`;
  return `on ${what}${event.interrupting === false ? ' (adds work)' : ' (interrupting)'}`;
}

function assignText(a: Assignment): string {
  if ('user' in a) return `user ${a.user}`;
  if ('team' in a)
    return `team ${a.team}${a.strategy && a.strategy !== 'candidates' ? ` (${a.strategy})` : ''}`;
  if ('role' in a) return `role ${a.role}`;
  if ('field' in a) return `from ${a.field}`;
  if ('owner' in a) return 'the case owner';
  if ('supervisorOf' in a) return `supervisor of ${a.supervisorOf}`;
  return `who did ${a.performerOf}`;
}

function dateText(spec: DateSpec): string {
  return typeof spec === 'string' ? spec : `${spec.field}${spec.offset ? ` ${spec.offset}` : ''}`;
}

function clip(text: string, max = 42): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function list(transitions: Transitions | undefined): Transition[] {
  return transitions === undefined ? [] : Array.isArray(transitions) ? transitions : [transitions];
}

function stepLines(id: string, step: Step, def: CaseTypeDefinition): string[] {
  switch (step.type) {
    case 'human':
      return [
        id,
        `${step.action} · ${assignText(step.assign)}`,
        ...(step.due === undefined ? [] : [`due ${dateText(step.due)}`]),
        ...(step.escalations ?? []).map((e) => `escalates after ${e.after}`),
        ...(step.boundary ?? []).map(boundaryText),
      ];
    case 'wait':
      return [
        id,
        step.message !== undefined
          ? `wait for message ${step.message}`
          : `wait ${typeof step.until === 'string' ? step.until : step.until === undefined ? '' : `until ${dateText(step.until)}`}`,
        ...(step.boundary ?? []).map(boundaryText),
      ];
    case 'automatic':
      return [
        id,
        'automatic',
        ...(step.do ?? []).map((a) =>
          'setStatus' in a
            ? `status ${a.setStatus}`
            : 'setField' in a
              ? `set ${a.setField.path}`
              : `email ${a.email.template}`,
        ),
      ];
    case 'parallel':
      return [id, 'parallel'];
    case 'join':
      return [id, joinLabel(id, step, def)];
    case 'subcase':
      return [id, `sub-case ${step.caseType}${step.wait ? ' (waits)' : ''}`];
    case 'service':
      return [id, `calls ${step.request.method ?? 'POST'} ${step.request.url}`];
    default:
      return assertUnreachable(step);
  }
}

/** A join's second line: `join`, or how many of its parallel's branches it waits for and what happens to the rest. */
function joinLabel(id: string, step: JoinStep, def: CaseTypeDefinition): string {
  const complete = step.complete ?? 'all';
  if (complete === 'all') return 'join';
  const split = Object.values(def.steps).find((s) => s.type === 'parallel' && s.join === id);
  const of = split?.type === 'parallel' ? split.branches.length : '?';
  const rest = step.rest === 'absorb' ? 'absorbs the rest' : 'withdraws the rest';
  return `${complete === 'any' ? 'first' : complete} of ${of}, ${rest}`;
}

/** The transitions leaving a step, each with the label of its edge. */
function stepExits(step: Step): { label: string; transition: Transition }[] {
  const labelled = (prefix: string, transitions: Transitions | undefined) =>
    list(transitions).map((transition) => ({ label: prefix, transition }));
  const boundary = (events: BoundaryEvent[] | undefined) =>
    (events ?? []).map((e) => ({
      label: e.message !== undefined ? `message ${e.message}` : `after ${e.after ?? ''}`,
      transition: e.then,
    }));
  switch (step.type) {
    case 'human':
      return [
        ...Object.entries(step.outcomes).flatMap(([outcome, t]) => labelled(outcome, t)),
        ...boundary(step.boundary),
      ];
    case 'subcase':
      return [
        ...Object.entries(step.outcomes ?? {}).flatMap(([outcome, t]) => labelled(outcome, t)),
        ...labelled('', step.then),
      ];
    case 'wait':
      return [
        ...labelled(step.message === undefined ? '' : `message ${step.message}`, step.then),
        ...boundary(step.boundary),
      ];
    case 'automatic':
    case 'join':
      return labelled('', step.then);
    case 'service':
      return [...labelled('', step.then), ...labelled('on failure', step.onFailure)];
    case 'parallel':
      return [];
    default:
      return assertUnreachable(step);
  }
}

function edgeLabel(prefix: string, t: Transition, toEnd: boolean): string {
  const status = t.status && !toEnd ? `→ ${t.status}` : '';
  const cancels = t.cancel ? `✕ ${t.cancel.join(', ')}` : '';
  return [prefix, t.if === undefined ? '' : '[if]', cancels, status].filter((p) => p !== '').join(' ');
}

function addExits(
  edges: DiagramEdge[],
  from: string,
  exits: { label: string; transition: Transition }[],
): void {
  for (const { label, transition } of exits) {
    const next =
      transition.next === undefined
        ? []
        : Array.isArray(transition.next)
          ? transition.next
          : [transition.next];
    if (transition.end || next.length === 0) {
      const status = transition.end ? transition.status : undefined;
      const text = edgeLabel(label, transition, status !== undefined);
      edges.push({ from, to: endKey(status), label: text, dashed: !transition.end });
      continue;
    }
    const text = edgeLabel(label, transition, false);
    for (const to of next) edges.push({ from, to: `step:${to}`, label: text, dashed: false });
  }
}

/** Nodes and edges of a definition, shared by the Mermaid and SVG renderings. */
function buildModel(def: CaseTypeDefinition): DiagramModel {
  const nodes: DiagramNode[] = [{ key: START, kind: 'start', lines: ['start'] }];
  const edges: DiagramEdge[] = [];
  const starts = Array.isArray(def.start) ? def.start : [def.start];
  for (const s of starts) edges.push({ from: START, to: `step:${s}`, label: '', dashed: false });
  for (const [id, step] of Object.entries(def.steps)) {
    const key = `step:${id}`;
    const node: DiagramNode = {
      key,
      kind: step.type,
      stepId: id,
      lines: stepLines(id, step, def).map((l) => clip(l)),
    };
    if (step.type === 'human') node.tooltip = step.title;
    nodes.push(node);
    if (step.type === 'parallel') {
      for (const b of step.branches) edges.push({ from: key, to: `step:${b}`, label: '', dashed: false });
    }
    addExits(edges, key, stepExits(step));
  }
  (def.timers ?? []).forEach((timer, i) => {
    const key = `timer:${i}`;
    nodes.push({ key, kind: 'timer', lines: [`timer ${timer.id}`, `${timer.after} in ${timer.inStatus}`] });
    addExits(edges, key, [{ label: '', transition: timer.then }]);
  });
  const ends = [...new Set(edges.filter((e) => e.to.startsWith('end:')).map((e) => e.to))];
  for (const key of ends) nodes.push({ key, kind: 'end', lines: [key.slice('end:'.length) || 'end'] });
  const known = new Set(nodes.map((n) => n.key));
  return { nodes, edges: edges.filter((e) => known.has(e.to)) };
}

// ---------------------------------------------------------------------------------------------
// Mermaid

function mermaidText(text: string): string {
  return text.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

function mermaidShape(node: DiagramNode, label: string): string {
  switch (node.kind) {
    case 'start':
      return `(("${label}"))`;
    case 'end':
      return `((("${label}")))`;
    case 'human':
      return `("${label}")`;
    case 'wait':
    case 'timer':
      return `{{"${label}"}}`;
    case 'automatic':
    case 'service':
      return `["${label}"]`;
    case 'parallel':
    case 'join':
      return `{"${label}"}`;
    case 'subcase':
      return `[["${label}"]]`;
    default:
      return assertUnreachable(node.kind);
  }
}

/** The definition as a Mermaid flowchart (top-down), with current steps highlighted. */
export function toMermaid(def: CaseTypeDefinition, highlight?: Highlight): string {
  const model = buildModel(def);
  const ids = new Map(
    model.nodes.map((n, i) => [
      n.key,
      n.kind === 'start' ? 'start_' : n.kind === 'end' ? `end_${i}` : `n${i}`,
    ]),
  );
  const out = ['flowchart TD'];
  for (const node of model.nodes) {
    const label = node.lines.map(mermaidText).join('<br/>');
    out.push(`  ${ids.get(node.key) ?? ''}${mermaidShape(node, label)}`);
  }
  for (const edge of model.edges) {
    const arrow = edge.dashed ? '-.->' : '-->';
    const label = edge.label === '' ? '' : `|"${mermaidText(edge.label)}"|`;
    out.push(`  ${ids.get(edge.from) ?? ''} ${arrow}${label} ${ids.get(edge.to) ?? ''}`);
  }
  out.push('  classDef current fill:#fde68a,stroke:#d97706,stroke-width:3px');
  out.push('  classDef visited fill:#e0f2fe,stroke:#0284c7');
  const current = new Set(highlight?.currentSteps ?? []);
  const visited = (highlight?.visited ?? []).filter((s) => !current.has(s));
  const nodeIds = (steps: Iterable<string>): string[] =>
    [...steps].flatMap((s) => {
      const id = ids.get(`step:${s}`);
      return id === undefined ? [] : [id];
    });
  if (nodeIds(visited).length > 0) out.push(`  class ${nodeIds(visited).join(',')} visited`);
  if (nodeIds(current).length > 0) out.push(`  class ${nodeIds(current).join(',')} current`);
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// SVG: a layered layout (ranks by breadth-first distance from the start), drawn without any library

const CHAR_WIDTH = 7;
const LINE_HEIGHT = 16;
const ROW_GAP = 84;
const COLUMN_GAP = 40;
const MARGIN = 30;
const LANE = 14;

interface Placed {
  node: DiagramNode;
  rank: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function measure(node: DiagramNode): { width: number; height: number } {
  if (node.kind === 'start') return { width: 44, height: 44 };
  if (node.kind === 'end')
    return { width: Math.max(48, (node.lines[0] ?? '').length * CHAR_WIDTH + 28), height: 44 };
  const longest = Math.max(...node.lines.map((l) => l.length));
  const diamond = node.kind === 'parallel' || node.kind === 'join';
  return {
    width: Math.max(100, longest * CHAR_WIDTH + (diamond ? 60 : 24)),
    height: node.lines.length * LINE_HEIGHT + (diamond ? 34 : 16),
  };
}

function rankNodes(model: DiagramModel): Map<string, number> {
  const ranks = new Map<string, number>();
  const queue: string[] = [START, ...model.nodes.filter((n) => n.kind === 'timer').map((n) => n.key)];
  for (const key of queue) ranks.set(key, 0);
  while (queue.length > 0) {
    const key = queue.shift() as string;
    for (const edge of model.edges) {
      if (edge.from !== key || ranks.has(edge.to) || edge.to.startsWith('end:')) continue;
      ranks.set(edge.to, (ranks.get(key) ?? 0) + 1);
      queue.push(edge.to);
    }
  }
  let deepest = Math.max(0, ...ranks.values());
  for (const node of model.nodes) {
    if (node.kind !== 'end' && !ranks.has(node.key)) ranks.set(node.key, (deepest += 1));
  }
  for (const node of model.nodes) if (node.kind === 'end') ranks.set(node.key, deepest + 1);
  return ranks;
}

function layout(model: DiagramModel): { placed: Map<string, Placed>; width: number; height: number } {
  const ranks = rankNodes(model);
  const rows: DiagramNode[][] = [];
  for (const node of model.nodes) {
    const rank = ranks.get(node.key) ?? 0;
    (rows[rank] ??= []).push(node);
  }
  const placed = new Map<string, Placed>();
  const rowWidths = rows.map(
    (row) =>
      (row ?? []).reduce((sum, n) => sum + measure(n).width, 0) +
      COLUMN_GAP * Math.max(0, (row ?? []).length - 1),
  );
  const contentWidth = Math.max(...rowWidths, 200);
  let y = MARGIN;
  rows.forEach((row, rank) => {
    if (!row) return;
    const height = Math.max(...row.map((n) => measure(n).height));
    let x = MARGIN + (contentWidth - (rowWidths[rank] ?? 0)) / 2;
    for (const node of row) {
      const size = measure(node);
      placed.set(node.key, { node, rank, x, y: y + (height - size.height) / 2, ...size });
      x += size.width + COLUMN_GAP;
    }
    y += height + ROW_GAP;
  });
  return { placed, width: contentWidth + 2 * MARGIN, height: y - ROW_GAP + MARGIN };
}

function nodeSvg(p: Placed, cls: string): string {
  const { node, x, y, width: w, height: h } = p;
  const cx = x + w / 2;
  const cy = y + h / 2;
  let shape: string;
  switch (node.kind) {
    case 'start':
      shape = `<circle cx="${cx}" cy="${cy}" r="${h / 2}" class="shape start"/>`;
      break;
    case 'end':
      shape =
        `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="${h / 2}" class="shape end"/>` +
        `<rect x="${x + 4}" y="${y + 4}" width="${w - 8}" height="${h - 8}" rx="${h / 2 - 4}" class="shape end"/>`;
      break;
    case 'human':
      shape = `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="12" class="shape human"/>`;
      break;
    case 'wait':
    case 'timer': {
      const d = 12;
      shape = `<polygon points="${x + d},${y} ${x + w - d},${y} ${x + w},${cy} ${x + w - d},${y + h} ${x + d},${y + h} ${x},${cy}" class="shape ${node.kind}"/>`;
      break;
    }
    case 'automatic':
      shape = `<rect x="${x}" y="${y}" width="${w}" height="${h}" class="shape automatic"/>`;
      break;
    case 'parallel':
    case 'join':
      shape = `<polygon points="${cx},${y} ${x + w},${cy} ${cx},${y + h} ${x},${cy}" class="shape gateway"/>`;
      break;
    case 'service':
      shape = `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="2" class="shape automatic"/>`;
      break;
    case 'subcase':
      shape =
        `<rect x="${x}" y="${y}" width="${w}" height="${h}" class="shape subcase"/>` +
        `<line x1="${x + 6}" y1="${y}" x2="${x + 6}" y2="${y + h}" class="inner"/>` +
        `<line x1="${x + w - 6}" y1="${y}" x2="${x + w - 6}" y2="${y + h}" class="inner"/>`;
      break;
    default:
      shape = assertUnreachable(node.kind);
  }
  const top = cy - ((node.lines.length - 1) * LINE_HEIGHT) / 2 + 4;
  const text = `<text class="label">${node.lines
    .map(
      (line, i) =>
        `<tspan x="${cx}" y="${top + i * LINE_HEIGHT}"${i === 0 ? ' class="name"' : ''}>${escapeXml(line)}</tspan>`,
    )
    .join('')}</text>`;
  const tooltip = node.tooltip === undefined ? '' : `<title>${escapeXml(node.tooltip)}</title>`;
  const data = node.stepId === undefined ? '' : ` data-step="${escapeXml(node.stepId)}"`;
  return `<g class="node ${node.kind}${cls}"${data}>${tooltip}${shape}${text}</g>`;
}

function edgeLabelSvg(x: number, y: number, label: string): string {
  if (label === '') return '';
  const w = label.length * 6.2 + 8;
  return `<rect x="${x - w / 2}" y="${y - 9}" width="${w}" height="16" rx="3" class="edge-label-bg"/><text x="${x}" y="${y + 3}" class="edge-label">${escapeXml(label)}</text>`;
}

interface Routed {
  svg: string;
  /** Lanes used on the left (long forward edges) and on the right (loops). */
  left: number;
  right: number;
}

/**
 * Orthogonal edges: to the next row straight down; across several rows through a lane on the left;
 * within a row straight across; back up (loops) through a lane on the right. Labels sit near the source.
 */
function routeEdges(model: DiagramModel, placed: Map<string, Placed>, leftX: number, rightX: number): Routed {
  const lines: string[] = [];
  const labels: string[] = [];
  let left = 0;
  let right = 0;
  const outs = new Map<string, DiagramEdge[]>();
  const ins = new Map<string, DiagramEdge[]>();
  for (const e of model.edges) {
    const a = placed.get(e.from);
    const b = placed.get(e.to);
    if (!a || !b || b.rank <= a.rank) continue;
    outs.set(e.from, [...(outs.get(e.from) ?? []), e]);
    ins.set(e.to, [...(ins.get(e.to) ?? []), e]);
  }
  const spread = (p: Placed, count: number, index: number): number =>
    p.x + (p.width * (index + 1)) / (count + 1);
  for (const edge of model.edges) {
    const a = placed.get(edge.from);
    const b = placed.get(edge.to);
    if (!a || !b) continue;
    const cls = `edge${edge.dashed ? ' dashed' : ''}`;
    if (b.rank > a.rank) {
      const siblings = outs.get(edge.from) ?? [];
      const index = siblings.indexOf(edge);
      const arrivals = ins.get(edge.to) ?? [];
      const arrival = arrivals.indexOf(edge);
      const x1 = a.node.kind === 'start' ? a.x + a.width / 2 : spread(a, siblings.length, index);
      const y1 = a.y + a.height;
      const x2 = spread(b, arrivals.length, arrival);
      const y2 = b.y;
      const turn = y2 - 12 - (arrival % 3) * 5;
      let points: string;
      if (b.rank === a.rank + 1) {
        points = `${x1},${y1} ${x1},${turn} ${x2},${turn} ${x2},${y2}`;
      } else {
        left += 1;
        const lane = leftX - left * LANE;
        const out = y1 + ROW_GAP - 30 - (index % 3) * 5;
        points = `${x1},${y1} ${x1},${out} ${lane},${out} ${lane},${turn} ${x2},${turn} ${x2},${y2}`;
      }
      lines.push(`<polyline points="${points}" class="${cls}" marker-end="url(#arrow)"/>`);
      labels.push(edgeLabelSvg(x1, y1 + 14 + (index % 3) * 17, edge.label));
    } else if (b.rank === a.rank && a !== b) {
      const rightward = b.x > a.x;
      const x1 = rightward ? a.x + a.width : a.x;
      const x2 = rightward ? b.x : b.x + b.width;
      const y = a.y + a.height / 2;
      lines.push(`<polyline points="${x1},${y} ${x2},${y}" class="${cls}" marker-end="url(#arrow)"/>`);
      labels.push(edgeLabelSvg((x1 + x2) / 2, y - 10, edge.label));
    } else {
      right += 1;
      const lane = rightX + right * LANE;
      const y1 = a.y + a.height / 2 - 6;
      const y2 = b.y + b.height / 2 + 6;
      const x1 = a.x + a.width;
      const x2 = b.x + b.width;
      lines.push(
        `<polyline points="${x1},${y1} ${lane},${y1} ${lane},${y2} ${x2 + 2},${y2}" class="${cls}" marker-end="url(#arrow)"/>`,
      );
      labels.push(edgeLabelSvg(lane, (y1 + y2) / 2, edge.label));
    }
  }
  return { svg: [...lines, ...labels].join('\n'), left, right };
}

const SVG_STYLE = [
  '.shape{fill:#fff;stroke:#334155;stroke-width:1.5}',
  '.shape.human{fill:#f8fafc}',
  '.shape.wait,.shape.timer{fill:#f5f3ff;stroke:#7c3aed}',
  '.shape.automatic{fill:#f0fdf4;stroke:#15803d}',
  '.shape.gateway{fill:#fef9c3;stroke:#a16207}',
  '.shape.subcase{fill:#fff7ed;stroke:#c2410c}',
  '.shape.start{fill:#334155}',
  '.node.start .label{fill:#fff}',
  '.inner{stroke:#c2410c;stroke-width:1}',
  '.label{font:12px system-ui,sans-serif;text-anchor:middle;fill:#0f172a}',
  '.name{font-weight:600}',
  '.edge{fill:none;stroke:#475569;stroke-width:1.3}',
  '.dashed{stroke-dasharray:5 4}',
  '.edge-label{font:11px system-ui,sans-serif;text-anchor:middle;fill:#1e293b}',
  '.edge-label-bg{fill:#fff;opacity:.9}',
  '.visited .shape{fill:#e0f2fe;stroke:#0284c7}',
  '.current .shape{fill:#fde68a;stroke:#d97706;stroke-width:3.5}',
].join('');

/** The definition as a standalone SVG picture, with current steps (and visited ones) highlighted. */
export function toSvg(def: CaseTypeDefinition, highlight?: Highlight): string {
  const model = buildModel(def);
  const { placed, width, height } = layout(model);
  // A first pass counts the lanes; the nodes then shift right to make room for the left ones.
  const dry = routeEdges(model, placed, 0, width);
  const shift = dry.left * LANE + 10;
  for (const p of placed.values()) p.x += shift;
  const routed = routeEdges(model, placed, shift + MARGIN - 8, width + shift - MARGIN + 8);
  const labelRoom = Math.max(0, ...model.edges.map((e) => e.label.length * 3.1 + 6));
  const w = Math.ceil(width + shift + routed.right * LANE + labelRoom + 10);
  const h = Math.ceil(height);
  const current = new Set(highlight?.currentSteps ?? []);
  const visited = new Set(highlight?.visited ?? []);
  const nodes = [...placed.values()].map((p) => {
    const step = p.node.stepId;
    const cls =
      step === undefined ? '' : current.has(step) ? ' current' : visited.has(step) ? ' visited' : '';
    return nodeSvg(p, cls);
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${escapeXml(def.name)}">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#475569"/></marker></defs>',
    `<style>${SVG_STYLE}</style>`,
    ...nodes,
    routed.svg,
    '</svg>',
  ].join('\n');
}

/** A self-contained HTML page: the SVG picture, and the Mermaid text in a <details>. */
export function toHtml(def: CaseTypeDefinition, highlight?: Highlight): string {
  const current = highlight?.currentSteps ?? [];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(def.name)} (${escapeXml(def.id)} ${escapeXml(def.version)})</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#0f172a}
h1{font-size:20px;margin:0 0 4px}
.meta{color:#475569;margin:0 0 16px}
.diagram{overflow:auto;border:1px solid #e2e8f0;border-radius:8px;padding:8px;background:#fff}
pre{background:#f1f5f9;padding:12px;overflow:auto}
</style>
</head>
<body>
<h1>${escapeXml(def.name)}</h1>
<p class="meta">${escapeXml(def.id)} · version ${escapeXml(def.version)}${
    current.length > 0 ? ` · current step: ${current.map(escapeXml).join(', ')}` : ''
  }</p>
<div class="diagram" tabindex="0" role="region" aria-label="Diagram">
${toSvg(def, highlight)}
</div>
<details>
<summary>Mermaid source</summary>
<pre>${escapeXml(toMermaid(def, highlight))}</pre>
</details>
</body>
</html>
`;
}
