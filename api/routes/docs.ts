import { Router } from 'express';
import type { ApiContext } from '../context';
import { ALL_OPERATIONS, listRoutes, openApiDocument } from '../openapi';
import type { JsonSchema } from '../operation';

const escape = (text: unknown): string => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const pretty = (value: unknown): string => `<pre>${escape(JSON.stringify(value, null, 2))}</pre>`;

type Doc = {
  info: { title: string; description: string };
  paths: Record<string, Record<string, JsonSchema>>;
};

/** A self-contained HTML page (no scripts, no CDN) listing every operation of the document. */
export function docsHtml(doc: Doc): string {
  const byTag = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = ((op.tags as string[] | undefined) ?? ['Other'])[0] ?? 'Other';
      const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-');
      const params = (op.parameters as JsonSchema[] | undefined) ?? [];
      const body = (op.requestBody as { content: Record<string, { schema: unknown }> } | undefined)?.content[
        'application/json'
      ]?.schema;
      const responses = Object.entries((op.responses as Record<string, JsonSchema>) ?? {});
      const problems = (op['x-problem-types'] as string[] | undefined) ?? [];
      const html = `<section id="${id}">
  <h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code>${
    (op.security as unknown[] | undefined)?.length === 0 ? ' <span class="tag">no auth</span>' : ''
  }</h3>
  <p>${escape(op.summary ?? '')}</p>${op.description ? `<p class="d">${escape(op.description)}</p>` : ''}
  ${
    params.length > 0
      ? `<table><tr><th>Parameter</th><th>In</th><th>Schema</th><th>Description</th></tr>${params
          .map(
            (p) =>
              `<tr><td><code>${escape(p.name)}</code>${p.required ? ' *' : ''}</td><td>${escape(p.in)}</td><td><code>${escape(
                JSON.stringify(p.schema),
              )}</code></td><td>${escape(p.description ?? '')}</td></tr>`,
          )
          .join('')}</table>`
      : ''
  }
  ${body ? `<details><summary>Request body (application/json)</summary>${pretty(body)}</details>` : ''}
  <details><summary>Responses: ${responses.map(([s]) => escape(s)).join(', ')}</summary>${responses
    .map(
      ([status, r]) =>
        `<h4>${escape(status)}: ${escape(r.description)}</h4>${r.content ? pretty(r.content) : ''}`,
    )
    .join('')}</details>
  ${problems.length > 0 ? `<p class="d">Problem types: ${problems.map((p) => `<code>${escape(p.split('/').pop())}</code>`).join(' ')}</p>` : ''}
</section>`;
      byTag.set(tag, [...(byTag.get(tag) ?? []), html]);
    }
  }
  const toc = [...byTag.keys()].map((tag) => `<a href="#tag-${escape(tag)}">${escape(tag)}</a>`).join(' · ');
  const sections = [...byTag]
    .map(([tag, ops]) => `<h2 id="tag-${escape(tag)}">${escape(tag)}</h2>${ops.join('\n')}`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(doc.info.title)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
code,pre{font:13px ui-monospace,monospace}pre{background:#f6f8fa;padding:.6em;overflow:auto}
section{border-top:1px solid #ddd;padding:.4em 0}h3{margin:.4em 0}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #e3e3e3;padding:2px 6px;text-align:left;vertical-align:top}.d{color:#555}
.m{display:inline-block;min-width:4.2em;text-align:center;border-radius:3px;color:#fff;font-size:12px;padding:1px 4px}
.get{background:#2b7bb9}.post{background:#2e9e44}.put{background:#b07b00}.patch{background:#7a4fb5}.delete{background:#c0392b}
.tag{font-size:12px;background:#eee;padding:1px 5px;border-radius:3px}
</style></head><body>
<h1>${escape(doc.info.title)}</h1><p>${escape(doc.info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Send <code>Authorization: Bearer &lt;token&gt;</code>.</p>
<nav>${toc}</nav>
${sections}
</body></html>`;
}

/** GET /openapi.json and GET /docs; unauthenticated. Built on first request, once every route is registered. */
export function docsRoutes(ctx: ApiContext): Router {
  const router = Router();
  let cached: { json: string; html: string } | undefined;
  const build = (app: object) => {
    if (!cached) {
      const doc = openApiDocument(ctx.publicUrl, ALL_OPERATIONS, listRoutes(app));
      cached = { json: JSON.stringify(doc), html: docsHtml(doc as unknown as Doc) };
    }
    return cached;
  };

  router.get('/openapi.json', (req, res) => {
    res.type('application/json').send(build(req.app).json);
  });

  router.get('/docs', (req, res) => {
    res
      .type('text/html; charset=utf-8')
      .set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'")
      .send(build(req.app).html);
  });

  return router;
}
