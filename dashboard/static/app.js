// leaseflow dashboard — Preact + htm as vendored ES modules (no build step, nothing fetched from
// outside). Three views: executions, one execution (timeline + actions), runners & leases (live, SSE).
import { h, render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);
const STATUSES = ['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled'];

async function api(path, init) {
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body?.error?.message ?? `${res.status} ${res.statusText}`);
  return body;
}
const post = (path, body) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

// ── helpers ──────────────────────────────────────────────────────────────────────────────────
const enc = encodeURIComponent;
function ms(n) {
  if (n === null || n === undefined) return '—';
  const a = Math.abs(n);
  if (a < 1000) return `${Math.round(n)} ms`;
  if (a < 60_000) return `${(n / 1000).toFixed(1)} s`;
  if (a < 3_600_000) return `${Math.floor(n / 60_000)}m ${Math.round((a % 60_000) / 1000)}s`;
  return `${(n / 3_600_000).toFixed(1)} h`;
}
const time = (d) => (d ? new Date(d).toISOString().replace('T', ' ').slice(0, 23) : '—');
const json = (v) => (v === undefined ? '—' : JSON.stringify(v, null, 2));
const Badge = ({ s }) => html`<span class=${`badge s-${s}`} data-status=${s}>${s}</span>`;
const ExecLink = ({ id }) => html`<a class="mono" href=${`#/execution/${enc(id)}`}>${id}</a>`;

function useHash() {
  const [hash, setHash] = useState(location.hash || '#/executions');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/executions');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}
function useNow(periodMs = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => { const t = setInterval(() => setNow(Date.now()), periodMs); return () => clearInterval(t); }, [periodMs]);
  return now;
}

// ── executions ───────────────────────────────────────────────────────────────────────────────
const FILTERS = [
  ['id', 'id prefix'], ['workflow', 'workflow'], ['template', 'template key'], ['parent', 'parent id'],
];
function ExecutionsView({ params }) {
  const [page, setPage] = useState(null);
  const [counts, setCounts] = useState(null);
  const [error, setError] = useState(null);
  const [cursors, setCursors] = useState([]);
  const form = useRef();
  const query = params.toString();
  useEffect(() => {
    let alive = true;
    setError(null);
    api(`/api/executions?${query}`).then((p) => alive && setPage(p), (e) => alive && setError(e.message));
    api('/api/counts').then((c) => alive && setCounts(c), () => undefined);
    return () => { alive = false; };
  }, [query]);
  const go = (next) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(next)) if (v) p.set(k, v);
    location.hash = `#/executions?${p}`;
  };
  const current = Object.fromEntries(params.entries());
  const submit = (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(form.current).entries());
    setCursors([]);
    go({ ...data, from: data.from ? new Date(data.from).toISOString() : '', to: data.to ? new Date(data.to).toISOString() : '' });
  };
  const statusOn = (current.status ?? '').split(',').filter(Boolean);
  return html`
    <h2>Executions</h2>
    <div class="counts" data-testid="counts">
      ${STATUSES.map((s) => html`<button class=${statusOn.includes(s) ? 'on' : ''} data-testid=${`count-${s}`}
        onClick=${() => { setCursors([]); go({ ...current, cursor: '', status: statusOn.includes(s) ? '' : s }); }}>
        <b>${counts?.counts?.[s] ?? 0}</b><${Badge} s=${s} /></button>`)}
      ${counts && html`<span class="muted" style="align-self:center">counted ${time(counts.at)} (cached ≤ 10 s)</span>`}
    </div>
    <div class="card">
      <form class="filters" ref=${form} onSubmit=${submit} data-testid="filters">
        <label>status<select name="status" value=${current.status ?? ''}>
          <option value="">any</option>${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}</select></label>
        ${FILTERS.map(([k, label]) => html`<label>${label}<input name=${k} value=${current[k] ?? ''} size="16" /></label>`)}
        <label>created from<input type="datetime-local" name="from" /></label>
        <label>created before<input type="datetime-local" name="to" /></label>
        <button class="primary" type="submit" data-testid="apply">Apply</button>
        <button type="button" onClick=${() => { setCursors([]); go({}); }}>Clear</button>
      </form>
    </div>
    ${error && html`<p class="error" data-testid="error">${error}</p>`}
    <div class="card">
      <table data-testid="executions">
        <thead><tr><th>id</th><th>workflow</th><th>status</th><th>attempts</th><th>created (UTC)</th><th>took</th><th>template</th><th>parent</th></tr></thead>
        <tbody>
          ${page?.executions.map((e) => html`<tr>
            <td><${ExecLink} id=${e.id} /></td><td>${e.workflowName}</td><td><${Badge} s=${e.status} /></td><td>${e.attempts}</td>
            <td class="mono">${time(e.createdAt)}</td><td>${e.finishedAt ? ms(new Date(e.finishedAt) - new Date(e.createdAt)) : '—'}</td>
            <td class="mono">${e.templateKey ?? ''}</td><td>${e.parentId ? html`<${ExecLink} id=${e.parentId} />` : ''}</td></tr>`)}
          ${page && page.executions.length === 0 && html`<tr><td colspan="8" class="muted">no executions match</td></tr>`}
        </tbody>
      </table>
      <div class="pager">
        <button disabled=${cursors.length === 0} onClick=${() => { const c = [...cursors]; c.pop(); setCursors(c); go({ ...current, cursor: c[c.length - 1] ?? '' }); }}>← Newer</button>
        <button disabled=${!page?.nextCursor} data-testid="next-page" onClick=${() => { setCursors([...cursors, page.nextCursor]); go({ ...current, cursor: page.nextCursor }); }}>Older →</button>
        <span class="muted">page ${cursors.length + 1}</span>
      </div>
    </div>`;
}

// ── one execution ────────────────────────────────────────────────────────────────────────────
function Countdown({ to }) {
  const now = useNow(250);
  const left = new Date(to).getTime() - now;
  return html`<span>${left >= 0 ? `in ${ms(left)}` : `${ms(-left)} ago`}</span>`;
}
function waitText(w) {
  if (!w) return '—';
  if (w.kind === 'timer' || w.kind === 'retry') return html`${w.kind} "${w.name ?? ''}" due <${Countdown} to=${w.dueAt} />`;
  if (w.kind === 'signal') return `signal "${w.name}"`;
  if (w.kind === 'child') return html`child <${ExecLink} id=${w.childId} />`;
  return 'a free slot of its template';
}
function Confirm({ text, onYes, onNo, yes, testid }) {
  return html`<div class="confirm">${text}
    <button class="danger" data-testid=${testid} onClick=${onYes}>${yes}</button><button onClick=${onNo}>Back</button></div>`;
}
function Actions({ id, status, finished, onDone }) {
  const [ask, setAsk] = useState(null);
  const [name, setName] = useState('');
  const [payload, setPayload] = useState('');
  const [reason, setReason] = useState('');
  const [msg, setMsg] = useState(null);
  const run = async (what) => {
    setAsk(null);
    try {
      if (what === 'cancel') await post(`/api/executions/${enc(id)}/cancel`, reason ? { reason } : {});
      else if (what === 'terminate') await post(`/api/executions/${enc(id)}/terminate`, reason ? { reason } : {});
      else if (what === 'resume') await post(`/api/executions/${enc(id)}/resume`, {});
      else {
        let value;
        try { value = payload.trim() === '' ? undefined : JSON.parse(payload); } catch { throw new Error('payload is not valid JSON'); }
        await post(`/api/executions/${enc(id)}/signal`, { name, payload: value });
      }
      setMsg({ ok: true, text: { cancel: 'cancellation requested', terminate: 'terminated', resume: 'resumed from the failed step' }[what] ?? `signal "${name}" sent` });
      onDone();
    } catch (e) { setMsg({ ok: false, text: e.message }); }
  };
  return html`<div class="card" data-testid="actions"><h3 style="margin-top:0">Actions</h3>
    ${finished ? html`${status === 'failed' ? html`<button data-testid="resume" onClick=${() => setAsk('resume')}>Retry from the failed step…</button>` : html`<p class="muted">finished: no actions.</p>`}` : html`
    <div class="row" style="gap:24px">
      <div><label>signal name<input data-testid="signal-name" value=${name} onInput=${(e) => setName(e.target.value)} /></label>
        <label>payload (JSON)<textarea data-testid="signal-payload" rows="2" cols="28" value=${payload} onInput=${(e) => setPayload(e.target.value)} /></label>
        <button data-testid="signal" disabled=${!name} onClick=${() => setAsk('signal')}>Send signal…</button></div>
      <div><label>cancel reason<input data-testid="cancel-reason" value=${reason} onInput=${(e) => setReason(e.target.value)} placeholder="cancelled from the dashboard" /></label>
        <button data-testid="cancel" onClick=${() => setAsk('cancel')}>Cancel execution…</button>
        <button data-testid="terminate" onClick=${() => setAsk('terminate')}>Terminate…</button></div>
    </div>
    ${ask === 'signal' && html`<${Confirm} text=${`Send signal "${name}" to ${id}?`} yes="Send" testid="confirm-signal" onYes=${() => run('signal')} onNo=${() => setAsk(null)} />`}
    ${ask === 'terminate' && html`<${Confirm} text=${`Terminate ${id} now? No compensation runs; a runner still running it is fenced out.`} yes="Terminate" testid="confirm-terminate" onYes=${() => run('terminate')} onNo=${() => setAsk(null)} />`}
    ${ask === 'cancel' && html`<${Confirm} text=${`Cancel ${id}? The workflow sees CancelledError at its next step.`} yes="Cancel it" testid="confirm-cancel" onYes=${() => run('cancel')} onNo=${() => setAsk(null)} />`}`}
    ${ask === 'resume' && html`<${Confirm} text=${`Run ${id} again from its failed step?`} yes="Retry" testid="confirm-resume" onYes=${() => run('resume')} onNo=${() => setAsk(null)} />`}
    ${msg && html`<p class=${msg.ok ? 'muted' : 'error'} data-testid="action-result">${msg.text}</p>`}
    </div>`;
}
function Timeline({ id, version }) {
  const [failedOnly, setFailedOnly] = useState(false);
  const [events, setEvents] = useState(null);
  const [open, setOpen] = useState({});
  useEffect(() => {
    api(`/api/executions/${enc(id)}/history${failedOnly ? '?failed=1' : ''}`).then((r) => setEvents(r.events), () => undefined);
  }, [id, failedOnly, version]);
  const load = async (seq) => {
    if (open[seq] !== undefined) return setOpen({ ...open, [seq]: undefined });
    const r = await api(`/api/executions/${enc(id)}/history/${seq}`);
    setOpen({ ...open, [seq]: r.value });
  };
  return html`<div class="card"><h3 style="margin-top:0">Timeline
      <label style="display:inline-flex;flex-direction:row;gap:4px;margin-left:16px;font-weight:normal">
        <input type="checkbox" data-testid="failed-only" checked=${failedOnly} onChange=${(e) => setFailedOnly(e.target.checked)} /> failed only</label></h3>
    <table class="timeline" data-testid="timeline"><thead><tr><th>seq</th><th>event</th><th>status</th><th>attempt</th><th>token</th><th>at (UTC)</th><th>took</th><th>value</th></tr></thead>
    <tbody>${(events ?? []).map((e) => html`<tr class=${e.status === 'failed' || e.status === 'timeout' ? 'failed' : ''} data-kind=${e.kind}>
      <td>${e.seq}</td><td class="kind"><span class=${`dot k-${e.kind}`}></span>${e.kind} <b>${e.name}</b></td><td>${e.status}</td>
      <td>${e.attempt > 1 ? html`<span class="badge s-queued">retry ${e.attempt}</span>` : e.attempt}</td><td class="mono">${e.leaseToken}</td>
      <td class="mono">${time(e.at)}</td><td>${ms(e.sincePreviousMs)}</td>
      <td>${e.valueBytes > 0 ? html`<code>${e.preview}</code> <button data-testid=${`payload-${e.seq}`} onClick=${() => load(e.seq)}>${open[e.seq] === undefined ? 'load' : 'hide'}</button>` : ''}
        ${open[e.seq] !== undefined && html`<pre data-testid=${`payload-value-${e.seq}`}>${json(open[e.seq])}</pre>`}</td></tr>`)}
      ${events && events.length === 0 && html`<tr><td colspan="8" class="muted">no events${failedOnly ? ' that failed or retried' : ' yet'}</td></tr>`}</tbody></table>
    <p class="muted">"took" is the time since the previous event (the step's duration for steps that ran live).</p></div>`;
}
function ExecutionView({ id }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [version, setVersion] = useState(0);
  const refresh = useCallback(() => api(`/api/executions/${enc(id)}`).then((d) => { setData(d); setError(null); setVersion((v) => v + 1); }, (e) => setError(e.message)), [id]);
  useEffect(() => { refresh(); const t = setInterval(refresh, 2000); return () => clearInterval(t); }, [refresh]);
  if (error && !data) return html`<p class="error" data-testid="error">${error}</p>`;
  if (!data) return html`<p class="muted">loading…</p>`;
  const d = data.description;
  const finished = ['completed', 'failed', 'cancelled'].includes(d.status);
  return html`
    <h2>Execution <span class="mono" data-testid="execution-id">${d.id}</span> <${Badge} s=${d.status} /></h2>
    <div class="row">
      <div class="card"><dl class="fields" data-testid="fields">
        <dt>workflow</dt><dd>${d.workflowName} v${d.workflowVersion}${d.servedByLiveRunner ? '' : html` <span class="error">(no live runner serves it)</span>`}</dd>
        <dt>status</dt><dd data-testid="status">${d.status}${d.cancelRequested && !finished ? ` (cancel requested: ${d.cancelRequested})` : ''}</dd>
        <dt>attempts</dt><dd>${d.attempts}</dd>
        <dt>lease</dt><dd data-testid="lease">${d.leaseHolder ? html`<span class="mono">${d.leaseHolder.owner}</span> · token <b class="mono">${d.leaseToken}</b> · expires <${Countdown} to=${d.leaseHolder.expiresAt} />` : html`<span class="muted">none (token ${d.leaseToken})</span>`}</dd>
        <dt>waiting for</dt><dd>${d.status === 'waiting' || d.status === 'queued' ? waitText(d.waitingFor) : '—'}</dd>
        <dt>template</dt><dd>${d.templateKey ? html`<span class="mono">${d.templateKey}</span> ${d.admitted ? '(holds a slot)' : data.queuePosition ? `(queue position ${data.queuePosition})` : ''}` : '—'}</dd>
        <dt>parent</dt><dd>${d.parentId ? html`<${ExecLink} id=${d.parentId} />` : '—'}</dd>
        <dt>progress</dt><dd>${d.customStatus === undefined || d.customStatus === null ? '—' : html`<code>${JSON.stringify(d.customStatus)}</code>`}</dd>
        <dt>created</dt><dd class="mono">${time(d.createdAt)}</dd>
        <dt>started</dt><dd class="mono">${time(d.startedAt)}</dd>
        <dt>finished</dt><dd class="mono">${time(d.finishedAt)}${d.finishedAt ? ` (took ${ms(new Date(d.finishedAt) - new Date(d.createdAt))})` : ''}</dd>
      </dl></div>
      <div class="card">
        <h3 style="margin-top:0">input</h3><pre>${json(d.input)}</pre>
        ${d.error ? html`<h3>error</h3><pre class="error" data-testid="exec-error">${d.error.name}: ${d.error.message}</pre>` : html`<h3>output</h3><pre data-testid="output">${json(d.output)}</pre>`}
        <h3>pending signals (${data.pendingSignals.length})</h3>
        ${data.pendingSignals.length ? html`<ul data-testid="pending-signals">${data.pendingSignals.map((s) => html`<li><b>${s.name}</b> <code>${JSON.stringify(s.payload) ?? ''}</code> <span class="muted">${time(s.createdAt)}</span></li>`)}</ul>` : html`<p class="muted">none</p>`}
        <h3>children (${data.children.length}${data.moreChildren ? '+' : ''})</h3>
        ${data.children.length ? html`<ul>${data.children.map((c) => html`<li><${ExecLink} id=${c.id} /> ${c.workflowName} <${Badge} s=${c.status} /></li>`)}</ul>` : html`<p class="muted">none</p>`}
      </div>
    </div>
    <${Actions} id=${d.id} status=${d.status} finished=${finished} onDone=${refresh} />
    <${Timeline} id=${d.id} version=${version} />`;
}

// ── runners & leases (live) ──────────────────────────────────────────────────────────────────
function LiveView() {
  const [snap, setSnap] = useState(null);
  const [moves, setMoves] = useState([]);
  const [state, setState] = useState('connecting');
  useEffect(() => {
    const es = new EventSource('/api/live');
    es.addEventListener('snapshot', (ev) => {
      const s = JSON.parse(ev.data);
      s.receivedAt = Date.now();
      setSnap(s);
      setState('live');
      if (s.moves.length) setMoves((m) => [...s.moves.map((x) => ({ ...x, key: `${x.executionId}-${x.toToken}` })), ...m].slice(0, 50));
    });
    es.addEventListener('problem', () => setState('store unreachable'));
    es.onerror = () => setState('reconnecting');
    return () => es.close();
  }, []);
  const now = useNow(250);
  if (!snap) return html`<p class="muted">connecting…</p>`;
  const age = now - snap.receivedAt;
  const left = (l) => l.expiresInMs - age;
  const Lease = ({ l }) => html`<span class=${`lease ${left(l) < 3000 ? 'soon' : ''}`} data-testid="lease" data-execution=${l.executionId}>
    <${ExecLink} id=${l.executionId} /> · token <b class="mono">${l.token}</b> · ${left(l) >= 0 ? ms(left(l)) : 'expired'}</span>`;
  return html`
    <h2>Runners & leases <span class="badge ${state === 'live' ? 's-live' : 's-failed'}" data-testid="live-state">${state}</span></h2>
    <div class="row">
      <div class="card" data-testid="queue"><h3 style="margin-top:0">Queue</h3><dl class="fields">
        <dt>ready</dt><dd data-testid="queue-ready">${snap.queue.ready}${snap.queue.capped ? '+' : ''}</dd>
        <dt>delayed</dt><dd>${snap.queue.delayed}${snap.queue.capped ? '+' : ''}</dd>
        <dt>schedule-to-start</dt><dd>${snap.queue.headWaitMs === null ? 'nothing due' : `head of queue waiting ${ms(snap.queue.headWaitMs)}`}</dd>
        <dt>database clock</dt><dd class="mono">${time(snap.at)}</dd></dl></div>
      <div class="card" data-testid="moves"><h3 style="margin-top:0">Lease moves (takeovers and hand-offs)</h3>
        ${moves.length ? html`<ul class="moves">${moves.map((m) => html`<li class="flash" key=${m.key} data-testid="move">
          <span class="mono">${time(m.at).slice(11)}</span> <${ExecLink} id=${m.executionId} />: <span class="mono">${m.from}</span> (token ${m.fromToken}) → <b class="mono">${m.to}</b> (token ${m.toToken})</li>`)}</ul>`
          : html`<p class="muted">none since this page opened</p>`}</div>
    </div>
    <div class="card"><h3 style="margin-top:0">Runners</h3>
      <table data-testid="runners"><thead><tr><th>runner</th><th>status</th><th>host:pid</th><th>heartbeat</th><th>slots</th><th>leases (token · expires in)</th></tr></thead>
      <tbody>${snap.runners.map((r) => html`<tr data-testid="runner" data-runner=${r.id}>
        <td class="mono">${r.id}</td><td><${Badge} s=${r.status} /></td><td class="mono">${r.hostname}:${r.pid}</td>
        <td>${ms(r.heartbeatAgeMs + age)} ago</td><td>${r.leases.length} / ${r.concurrency}</td>
        <td>${r.leases.map((l) => html`<${Lease} l=${l} />`)}</td></tr>`)}
        ${snap.runners.length === 0 && html`<tr><td colspan="6" class="muted">no runner seen in the last hour</td></tr>`}</tbody></table>
      ${snap.orphanLeases.length > 0 && html`<p>Leases of unknown owners: ${snap.orphanLeases.map((l) => html`<${Lease} l=${l} />`)}</p>`}
    </div>
    <div class="card"><h3 style="margin-top:0">Template locks</h3>
      <table data-testid="templates"><thead><tr><th>template key</th><th>limit</th><th>holders</th><th>waiting (FIFO)</th></tr></thead>
      <tbody>${snap.templates.map((t) => html`<tr><td class="mono">${t.key}</td><td>${t.limit ?? '—'}</td>
        <td>${t.holders.map((x) => html`<div><${ExecLink} id=${x.executionId} /> <${Badge} s=${x.status} /> ${x.runnerId ? html`<span class="muted mono">${x.runnerId}</span>` : ''}</div>`)}</td>
        <td>${t.waiting.map((x) => html`<div>#${x.position} <${ExecLink} id=${x.executionId} /></div>`)}</td></tr>`)}
        ${snap.templates.length === 0 && html`<tr><td colspan="4" class="muted">no active template members</td></tr>`}</tbody></table></div>`;
}

// ── shell ────────────────────────────────────────────────────────────────────────────────────
function App() {
  const hash = useHash();
  const [path, qs] = hash.slice(1).split('?');
  const params = new URLSearchParams(qs ?? '');
  const now = useNow(1000);
  let view;
  if (path.startsWith('/execution/')) view = html`<${ExecutionView} id=${decodeURIComponent(path.slice('/execution/'.length))} key=${path} />`;
  else if (path === '/live') view = html`<${LiveView} />`;
  else view = html`<${ExecutionsView} params=${params} />`;
  const tab = path === '/live' ? 'live' : 'executions';
  return html`<header><span class="brand">leaseflow</span>
      <nav><a href="#/executions" class=${tab === 'executions' ? 'active' : ''} data-testid="nav-executions">Executions</a>
        <a href="#/live" class=${tab === 'live' ? 'active' : ''} data-testid="nav-live">Runners & leases</a></nav>
      <span class="spacer"></span><span class="clock">${new Date(now).toISOString().slice(11, 19)} UTC</span></header>
    <main>${view}</main>`;
}

render(html`<${App} />`, document.getElementById('app'));
