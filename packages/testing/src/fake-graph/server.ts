import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bareAccountId, datesBetween, type FakeAd, generateAds, generatedDay, minorUnitsToDecimal } from './data';

export interface FakeGraphAccountOptions {
  /** `act_123` or `123`. */
  adAccountId: string;
  /** Token the account answers to (Authorization header, or `access_token` like Meta also accepts). */
  token: string;
  ads: number;
  /** The account's currency (`account_currency`) and its decimals; spend is generated in its minor units. Default USD, 2. */
  currency?: { code: string; decimals: 0 | 2 | 3 };
}

export type FakeGraphFault =
  /** Throttling answer with usage headers (`regainMinutes` → BUC header, `resetSeconds` → ad-account header). */
  | { kind: 'rate-limit'; code?: number; status?: number; regainMinutes?: number; resetSeconds?: number }
  | { kind: 'token-expired' }
  | { kind: 'server-error'; status?: number }
  /** Answers normally, after `ms`. */
  | { kind: 'slow'; ms: number }
  /** An empty page whose `paging.next` carries a new cursor every time (after `ms`): paging that never ends. */
  | { kind: 'endless-paging'; ms?: number }
  /** An empty page whose `paging.next` leads back to the cursor just used. */
  | { kind: 'repeat-cursor' }
  /** A 200 page of about `bytes` bytes (ads with long creative bodies), streamed; `sent` counts what was written. */
  | { kind: 'huge-page'; bytes: number; sent?: { bytes: number; closedEarly: boolean } };

export interface FakeGraphRequest {
  n: number;
  method: string;
  /** Path without query, e.g. `/v25.0/act_1/insights`. */
  path: string;
  edge: 'ads' | 'insights' | 'events' | 'other';
  /** Conversions API dataset of a `POST /<dataset>/events`, else null. */
  dataset: string | null;
  /** Number of server events in a `/events` body (0 for other edges). */
  eventCount: number;
  /** Whose token the request presented: the dataset or ad account id it belongs to (null: none of ours). */
  tokenOf: string | null;
  query: Record<string, string>;
  /** The token came in the URL query (a client that does this leaks it to URL logs). */
  tokenInQuery: boolean;
  authorization: string | null;
  fault: FakeGraphFault['kind'] | null;
}

/** A Conversions API dataset (pixel) the fake accepts `POST /<id>/events` for. */
export interface FakeGraphDatasetOptions {
  id: string;
  token: string;
}

/** One server event the fake accepted, with the request it came in. */
export interface FakeCapiEvent {
  dataset: string;
  /** Request number (see `FakeGraphRequest.n`). */
  request: number;
  testEventCode: string | null;
  event: Record<string, unknown>;
}

export interface FakeGraphOptions {
  accounts: FakeGraphAccountOptions[];
  /** Conversions API datasets (default none). */
  datasets?: FakeGraphDatasetOptions[];
  /** Largest page served, whatever `limit` asks (Meta's default page is 25). Default 100. */
  maxPageSize?: number;
}

interface Rule {
  match: (req: FakeGraphRequest) => boolean;
  fault: FakeGraphFault;
  remaining: number;
}

interface Account {
  id: string;
  token: string;
  ads: FakeAd[];
  currency: { code: string; decimals: 0 | 2 | 3 };
  /** `${adId}|${date}` → spend (minor units) overriding the generated figure (a restated day). */
  spend: Map<string, number>;
}

/** Every status Meta returns by default on the ads / insights edges (ARCHIVED and DELETED must be asked for). */
const defaultVisible = new Set([
  'ACTIVE',
  'PAUSED',
  'CAMPAIGN_PAUSED',
  'ADSET_PAUSED',
  'PENDING_REVIEW',
  'DISAPPROVED',
  'PREAPPROVED',
  'PENDING_BILLING_INFO',
  'IN_PROCESS',
  'WITH_ISSUES',
]);

export interface FakeGraph {
  /** Origin to use as `META_GRAPH_URL`. */
  url: string;
  requests: FakeGraphRequest[];
  /** Answer request number `n` (1-based, all requests counted) with `fault`. */
  failAt(n: number, fault: FakeGraphFault): void;
  /** Answer the next `times` requests matching `match` with `fault`. */
  failWhen(match: (req: FakeGraphRequest) => boolean, fault: FakeGraphFault, times?: number): void;
  /** Drops every pending fault. */
  clearFaults(): void;
  /** Changes one ad-day's spend, in the account currency's minor units (Meta restating a recent day). */
  restate(adAccountId: string, adId: string, date: string, spendCents: number): void;
  /** The ads of an account, every status. */
  ads(adAccountId: string): FakeAd[];
  /** The spend (minor units of the account currency) the server reports for one ad-day. */
  spendCents(adAccountId: string, adId: string, date: string): number;
  /** Server events accepted so far (every dataset, or one), in arrival order. */
  capiEvents(dataset?: string): FakeCapiEvent[];
  /** Raw bodies of every `/events` request (accepted or not), to check what left the process. */
  capiBodies: string[];
  /** Adds a Conversions API dataset the fake accepts events for. */
  addDataset(id: string, token: string): void;
  /** From now on, refuse (as Meta does: the whole request) any request carrying an event `match` selects. */
  refuseEvents(match: (event: Record<string, unknown>) => boolean, message?: string): void;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

const graphError = (message: string, code: number, extra: Record<string, unknown> = {}) => ({
  error: { message, type: 'OAuthException', code, fbtrace_id: 'AFakeTraceId', ...extra },
});

function usageHeaders(pct: number, regainMinutes: number, resetSeconds: number): Record<string, string> {
  return {
    'x-business-use-case-usage': JSON.stringify({
      '1234567890': [
        {
          type: 'ads_insights',
          call_count: pct,
          total_cputime: Math.floor(pct / 2),
          total_time: Math.floor(pct / 2),
          estimated_time_to_regain_access: regainMinutes,
        },
      ],
    }),
    'x-ad-account-usage': JSON.stringify({
      acc_id_util_pct: pct,
      reset_time_duration: resetSeconds,
      ads_api_access_tier: 'standard_access',
    }),
  };
}

const encodeCursor = (offset: number) => Buffer.from(`fake-offset:${offset}`).toString('base64url');
function decodeCursor(cursor: string | undefined): number | null {
  if (!cursor) return 0;
  const m = /^fake-offset:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  return m ? Number(m[1]) : null;
}

function parseStatusList(value: string | undefined): Set<string> | null {
  if (!value) return null;
  try {
    const list = JSON.parse(value);
    return Array.isArray(list) ? new Set(list.map(String)) : null;
  } catch {
    return null;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const hashed = /^[0-9a-f]{64}$/;
const hashedFields = ['em', 'ph', 'fn', 'ln', 'ge', 'db', 'ct', 'st', 'zp', 'country'];
const actionSources = new Set([
  'email',
  'website',
  'app',
  'phone_call',
  'chat',
  'physical_store',
  'system_generated',
  'business_messaging',
  'other',
]);

/** Why Meta would refuse one server event (null when it would accept it). */
function capiEventProblem(event: unknown, now: number): string | null {
  if (!event || typeof event !== 'object') return 'event must be an object';
  const e = event as Record<string, unknown>;
  if (typeof e.event_name !== 'string' || !e.event_name) return 'event_name is required';
  if (typeof e.event_time !== 'number' || !Number.isInteger(e.event_time)) return 'event_time must be a Unix time in seconds';
  if (e.event_time < now - 7 * 86_400) return 'event_time is more than 7 days in the past';
  if (e.event_time > now + 600) return 'event_time is in the future';
  if (typeof e.action_source !== 'string' || !actionSources.has(e.action_source)) return 'action_source is invalid';
  if (e.action_source === 'website' && (typeof e.event_source_url !== 'string' || !e.event_source_url))
    return 'event_source_url is required for website events';
  const user = e.user_data as Record<string, unknown> | undefined;
  if (!user || typeof user !== 'object') return 'user_data is required';
  if (e.action_source === 'website' && typeof user.client_user_agent !== 'string')
    return 'client_user_agent is required for website events';
  let identifiers = 0;
  for (const [key, value] of Object.entries(user)) {
    const values = Array.isArray(value) ? value : [value];
    if (hashedFields.includes(key) && values.some((v) => typeof v !== 'string' || !hashed.test(v)))
      return `user_data.${key} must be SHA-256 hashed (lowercase hex)`;
    if (['em', 'ph', 'external_id', 'fbc', 'fbp', 'client_ip_address'].includes(key) && values.length > 0) identifiers++;
  }
  if (identifiers === 0) return 'user_data needs at least one customer information parameter';
  if (e.event_name === 'Purchase') {
    const custom = e.custom_data as Record<string, unknown> | undefined;
    if (typeof custom?.value !== 'number' || typeof custom.currency !== 'string' || !/^[A-Za-z]{3}$/.test(custom.currency))
      return 'Purchase requires custom_data.value and custom_data.currency';
  }
  return null;
}

/**
 * A local stand-in for the Meta Graph API (ads and ad-level daily insights of generated accounts)
 * on 127.0.0.1, port 0. Real cursor paging (`paging.cursors.after`, absolute `paging.next` carrying
 * `access_token` as Meta's does), usage headers, and scripted faults (rate limits, 190, 5xx, slowness).
 */
export async function startFakeGraph(options: FakeGraphOptions): Promise<FakeGraph> {
  const maxPageSize = options.maxPageSize ?? 100;
  const accounts = new Map<string, Account>();
  for (const a of options.accounts) {
    const id = bareAccountId(a.adAccountId);
    accounts.set(id, {
      id,
      token: a.token,
      ads: generateAds(id, a.ads),
      currency: a.currency ?? { code: 'USD', decimals: 2 },
      spend: new Map(),
    });
  }
  const datasets = new Map((options.datasets ?? []).map((d) => [d.id, d.token]));
  const capiEvents: FakeCapiEvent[] = [];
  const capiBodies: string[] = [];
  const refusals: Array<{ match: (event: Record<string, unknown>) => boolean; message: string }> = [];
  const requests: FakeGraphRequest[] = [];
  const rules: Rule[] = [];
  let origin = '';

  const ownerOfToken = (token: string | undefined): string | null => {
    if (!token) return null;
    for (const [id, t] of datasets) if (t === token) return id;
    for (const a of accounts.values()) if (a.token === token) return `act_${a.id}`;
    return null;
  };
  const account = (id: string) => {
    const a = accounts.get(bareAccountId(id));
    if (!a) throw new Error(`fake graph: unknown account ${id}`);
    return a;
  };
  const spendOf = (a: Account, adId: string, date: string) => a.spend.get(`${adId}|${date}`) ?? generatedDay(adId, date).spendCents;

  function page<T>(res: ServerResponse, req: FakeGraphRequest, items: { length: number; at: (i: number) => T }, token: string) {
    const limit = Math.min(maxPageSize, Math.max(1, Number(req.query.limit ?? 25) || 25));
    const offset = decodeCursor(req.query.after);
    if (offset === null) return json(res, 400, graphError('Invalid cursor', 100));
    const data: T[] = [];
    for (let i = offset; i < Math.min(items.length, offset + limit); i++) data.push(items.at(i));
    const end = offset + data.length;
    const paging: Record<string, unknown> = { cursors: { before: encodeCursor(offset), after: encodeCursor(end) } };
    if (end < items.length) {
      const next = new URL(req.path, origin);
      for (const [k, v] of Object.entries(req.query)) if (k !== 'after' && k !== 'access_token') next.searchParams.set(k, v);
      next.searchParams.set('access_token', token);
      next.searchParams.set('after', encodeCursor(end));
      paging.next = next.toString();
    }
    json(res, 200, { data, paging }, usageHeaders(5, 0, 0));
  }

  /**
   * `POST /<dataset>/events` as Meta's Conversions API answers it: the whole request fails when any
   * event is invalid (nothing is stored), at most 1,000 events, event_time no more than 7 days back,
   * user data fields that Meta wants hashed must be lowercase SHA-256 hex, Purchase needs value and currency.
   */
  function serveEvents(res: ServerResponse, req: FakeGraphRequest, body: unknown, token: string | undefined) {
    const dataset = req.dataset as string;
    if (req.method !== 'POST') return json(res, 400, graphError('Unsupported get request.', 100));
    const expected = datasets.get(dataset);
    if (expected === undefined)
      return json(
        res,
        400,
        graphError(
          `Unsupported post request. Object with ID '${dataset}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
          100,
          { error_subcode: 33, type: 'GraphMethodException' },
        ),
      );
    if (!token) return json(res, 400, graphError('An access token is required to request this resource.', 104));
    if (token !== expected) return json(res, 400, graphError('Invalid OAuth access token - Cannot parse access token', 190));
    const data = (body as { data?: unknown } | null)?.data;
    if (!Array.isArray(data) || data.length === 0)
      return json(res, 400, graphError('(#100) The parameter data is required', 100, { error_subcode: 2804001 }));
    if (data.length > 1_000)
      return json(res, 400, graphError('(#100) data: a request may carry at most 1000 events', 100, { error_subcode: 2804013 }));
    const now = Math.floor(Date.now() / 1000);
    for (const [i, event] of data.entries()) {
      const refused = refusals.find((r) => r.match(event as Record<string, unknown>));
      const problem = capiEventProblem(event, now) ?? (refused ? refused.message : null);
      if (problem)
        return json(
          res,
          400,
          graphError('Invalid parameter', 100, {
            type: 'OAuthException',
            error_subcode: 2804019,
            is_transient: false,
            error_user_title: 'Invalid event',
            error_user_msg: `data[${i}]: ${problem}`,
          }),
        );
    }
    const testEventCode = (body as { test_event_code?: unknown }).test_event_code;
    for (const event of data)
      capiEvents.push({
        dataset,
        request: req.n,
        testEventCode: typeof testEventCode === 'string' ? testEventCode : null,
        event: event as Record<string, unknown>,
      });
    json(res, 200, { events_received: data.length, messages: [], fbtrace_id: `AFake${req.n.toString(36)}` });
  }

  function serveAds(res: ServerResponse, req: FakeGraphRequest, a: Account) {
    const fields = req.query.fields ?? '';
    for (const need of ['adset{', 'campaign{', 'creative{'])
      if (!fields.includes(need)) return json(res, 400, graphError(`(#100) fields must expand ${need}…}`, 100));
    const wanted = parseStatusList(req.query.effective_status);
    const ads = a.ads.filter((ad) => (wanted ? wanted.has(ad.effectiveStatus) : defaultVisible.has(ad.effectiveStatus)));
    page(res, req, { length: ads.length, at: (i) => adJson(ads[i] as FakeAd) }, a.token);
  }

  function serveInsights(res: ServerResponse, req: FakeGraphRequest, a: Account) {
    const q = req.query;
    if (q.level !== 'ad') return json(res, 400, graphError('(#100) this fake serves level=ad only', 100));
    if (q.time_increment !== '1') return json(res, 400, graphError('(#100) this fake serves time_increment=1 only', 100));
    let range: { since?: string; until?: string };
    try {
      range = JSON.parse(q.time_range ?? '');
    } catch {
      return json(res, 400, graphError('(#100) time_range must be JSON {since, until}', 100));
    }
    if (!range.since || !range.until || range.since > range.until) return json(res, 400, graphError('(#100) invalid time_range', 100));
    for (const f of ['ad_id', 'date_start', 'spend', 'actions'])
      if (!(q.fields ?? '').split(',').includes(f)) return json(res, 400, graphError(`(#100) fields must include ${f}`, 100));
    let wanted: Set<string> | null = null;
    if (q.filtering) {
      try {
        const f = (JSON.parse(q.filtering) as Array<{ field: string; operator: string; value: string[] }>).find(
          (x) => x.field === 'ad.effective_status',
        );
        if (f) wanted = new Set(f.value);
      } catch {
        return json(res, 400, graphError('(#100) filtering must be JSON', 100));
      }
    }
    const ads = a.ads.filter((ad) =>
      wanted ? wanted.has(ad.effectiveStatus) : ad.effectiveStatus !== 'DELETED' && ad.effectiveStatus !== 'ARCHIVED',
    );
    const dates = datesBetween(range.since, range.until);
    // Meta answers only the fields asked for.
    const withCurrency = (q.fields ?? '').split(',').includes('account_currency');
    page(
      res,
      req,
      {
        length: ads.length * dates.length,
        at: (i) => insightJson(a, ads[i % ads.length] as FakeAd, dates[Math.floor(i / ads.length)] as string, withCurrency),
      },
      a.token,
    );
  }

  function adJson(ad: FakeAd) {
    const video = ad.index % 3 === 0;
    return {
      id: ad.id,
      name: ad.name,
      status: ad.status,
      effective_status: ad.effectiveStatus,
      created_time: '2026-01-05T09:30:00-0800',
      updated_time: '2026-02-01T12:00:00+0000',
      preview_shareable_link: `https://fb.me/fake${ad.id}`,
      adset: { id: ad.adsetId, name: `Ad set ${ad.adsetId}` },
      campaign: { id: ad.campaignId, name: `Campaign ${ad.campaignId}` },
      creative: {
        id: ad.creativeId,
        title: `Title ${ad.index}`,
        body: `Body of ad ${ad.index}`,
        thumbnail_url: `https://scontent.example/${ad.creativeId}.jpg`,
        ...(video
          ? { video_id: `5${ad.creativeId}`, object_type: 'VIDEO' }
          : { image_url: `https://scontent.example/${ad.creativeId}-full.jpg`, object_type: 'SHARE' }),
      },
    };
  }

  function insightJson(a: Account, ad: FakeAd, date: string, withCurrency: boolean) {
    const g = generatedDay(ad.id, date);
    return {
      ad_id: ad.id,
      date_start: date,
      date_stop: date,
      ...(withCurrency ? { account_currency: a.currency.code } : {}),
      spend: minorUnitsToDecimal(spendOf(a, ad.id, date), a.currency.decimals),
      impressions: String(g.impressions),
      clicks: String(g.clicks),
      reach: String(g.reach),
      actions: [
        { action_type: 'link_click', value: String(g.linkClicks) },
        { action_type: 'landing_page_view', value: String(g.landingPageViews) },
        { action_type: 'lead', value: String(g.leads) },
        { action_type: 'onsite_conversion.lead_grouped', value: String(g.leads) },
        { action_type: 'post_engagement', value: String(g.clicks + 3) },
      ],
    };
  }

  /** An empty page whose `next` carries cursor `after` (and no token: these faults answer any caller). */
  function loopPage(res: ServerResponse, req: FakeGraphRequest, after: string) {
    const next = new URL(req.path, origin);
    for (const [k, v] of Object.entries(req.query)) if (k !== 'after') next.searchParams.set(k, v);
    next.searchParams.set('after', after);
    json(res, 200, { data: [], paging: { cursors: { after }, next: next.toString() } }, usageHeaders(5, 0, 0));
  }

  function hugePage(res: ServerResponse, bytes: number, sent: { bytes: number; closedEarly: boolean } = { bytes: 0, closedEarly: false }) {
    const ad = (i: number) =>
      JSON.stringify({
        id: String(1e12 + i),
        name: `ad ${i}`,
        effective_status: 'ACTIVE',
        creative: { id: String(2e12 + i), body: 'x'.repeat(900) },
      });
    res.writeHead(200, { 'content-type': 'application/json' });
    let finished = false;
    res.on('finish', () => {
      finished = true;
    });
    res.on('close', () => {
      if (!finished) sent.closedEarly = true;
    });
    const write = (chunk: string) => {
      sent.bytes += Buffer.byteLength(chunk);
      return res.write(chunk);
    };
    write('{"data":[');
    let i = 0;
    const pump = () => {
      while (sent.bytes < bytes && !res.destroyed) {
        const ok = write((i ? ',' : '') + ad(i));
        i++;
        if (!ok) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end(']}');
    };
    pump();
  }

  async function answerFault(res: ServerResponse, fault: FakeGraphFault, req: FakeGraphRequest): Promise<boolean> {
    switch (fault.kind) {
      case 'endless-paging':
        if (fault.ms) await new Promise((r) => setTimeout(r, fault.ms));
        loopPage(res, req, `endless${req.n}`);
        return true;
      case 'repeat-cursor':
        loopPage(res, req, req.query.after ?? 'loop');
        return true;
      case 'huge-page':
        hugePage(res, fault.bytes, fault.sent);
        return true;
      case 'rate-limit': {
        const code = fault.code ?? 17;
        const message =
          code === 17
            ? 'User request limit reached'
            : code === 80004
              ? 'There have been too many calls to this ad-account.'
              : 'Rate limit reached';
        json(
          res,
          fault.status ?? 400,
          graphError(message, code, { is_transient: true, error_subcode: 2446079 }),
          usageHeaders(100, fault.regainMinutes ?? 0, fault.resetSeconds ?? 0),
        );
        return true;
      }
      case 'token-expired':
        json(
          res,
          400,
          graphError('Error validating access token: Session has expired on Friday, 02-Jan-26 08:00:00 PST.', 190, { error_subcode: 463 }),
        );
        return true;
      case 'server-error':
        json(
          res,
          fault.status ?? 500,
          graphError('An unexpected error has occurred. Please retry your request later.', 2, { is_transient: true }),
        );
        return true;
      case 'slow':
        await new Promise((r) => setTimeout(r, fault.ms));
        return false;
    }
  }

  async function handle(httpReq: IncomingMessage, res: ServerResponse) {
    const url = new URL(httpReq.url ?? '/', origin);
    const query = Object.fromEntries(url.searchParams);
    const m = /^\/v\d+\.\d+\/act_(\d+)\/(ads|insights)$/.exec(url.pathname);
    const ev = /^\/v\d+\.\d+\/(\d+)\/events$/.exec(url.pathname);
    const authorization = httpReq.headers.authorization ?? null;
    const body = httpReq.method === 'POST' ? await readBody(httpReq) : '';
    let parsed: unknown = null;
    if (ev) {
      capiBodies.push(body);
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = null;
      }
    }
    const req: FakeGraphRequest = {
      n: requests.length + 1,
      method: httpReq.method ?? 'GET',
      path: url.pathname,
      edge: ev ? 'events' : ((m?.[2] as 'ads' | 'insights' | undefined) ?? 'other'),
      dataset: ev ? (ev[1] as string) : null,
      tokenOf: ownerOfToken(/^(?:Bearer|OAuth)\s+(.+)$/i.exec(authorization ?? '')?.[1] ?? query.access_token),
      eventCount: Array.isArray((parsed as { data?: unknown } | null)?.data) ? (parsed as { data: unknown[] }).data.length : 0,
      query: Object.fromEntries(Object.entries(query).filter(([k]) => k !== 'access_token')),
      tokenInQuery: 'access_token' in query,
      authorization: authorization ? authorization.replace(/\s.*/, ' [redacted]') : null,
      fault: null,
    };
    requests.push(req);
    const rule = rules.find((r) => r.remaining > 0 && r.match(req));
    if (rule) {
      rule.remaining--;
      req.fault = rule.fault.kind;
      if (await answerFault(res, rule.fault, req)) return;
    }
    if (ev) return serveEvents(res, req, parsed, /^(?:Bearer|OAuth)\s+(.+)$/i.exec(authorization ?? '')?.[1] ?? query.access_token);
    if (!m) return json(res, 404, graphError('Unknown path components', 2500));
    const a = accounts.get(m[1] as string);
    if (!a) return json(res, 400, graphError(`(#100) Ad account act_${m[1]} does not exist`, 100));
    const token = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(authorization ?? '')?.[1] ?? query.access_token;
    if (!token) return json(res, 400, graphError('An active access token must be used to query information about the current user.', 2500));
    if (token !== a.token) return json(res, 400, graphError('Invalid OAuth access token - Cannot parse access token', 190));
    if (req.edge === 'ads') return serveAds(res, req, a);
    return serveInsights(res, req, a);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => json(res, 500, graphError(String(err), 1)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: origin,
    requests,
    failAt: (n, fault) => rules.push({ match: (r) => r.n === n, fault, remaining: 1 }),
    failWhen: (match, fault, times = 1) => rules.push({ match, fault, remaining: times }),
    clearFaults: () => {
      rules.length = 0;
    },
    restate: (id, adId, date, cents) => account(id).spend.set(`${adId}|${date}`, cents),
    ads: (id) => account(id).ads,
    capiEvents: (dataset) => (dataset ? capiEvents.filter((e) => e.dataset === dataset) : [...capiEvents]),
    capiBodies,
    addDataset: (id, token) => void datasets.set(id, token),
    refuseEvents: (match, message = 'custom_data.value is invalid') => refusals.push({ match, message }),
    spendCents: (id, adId, date) => spendOf(account(id), adId, date),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
