/** One HTTP request to a service under test: the status, headers and the body parsed as JSON when it is JSON. */
export async function requestJson(
  url: string,
  o: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const hasBody = o.body !== undefined || o.raw !== undefined;
  const res = await fetch(url, {
    method: o.method ?? 'GET',
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...(o.headers ?? {}) },
    body: o.raw ?? (o.body !== undefined ? JSON.stringify(o.body) : undefined),
  });
  const text = await res.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, body, headers: res.headers };
}
